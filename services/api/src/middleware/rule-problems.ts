import type { Request, RequestHandler, Response } from 'express';
import type { FieldProblem } from '../models/problem.js';

const RULES = 'ruleProblems';

/**
 * A route middleware for an operation whose domain checks rules the spec cannot state (the
 * plan's retention, the clock): when the spec's validation refuses the request, `rules` runs on
 * the raw request too, and the one 422 names every problem, the spec's and the rules'. Runs only
 * on that refusal; a request the spec accepts gets its rules checked by the domain service.
 */
export function rulesOnInvalidRequest(rules: (req: Request) => FieldProblem[]): RequestHandler {
  return (req, res, next) => {
    res.locals[RULES] = () => rules(req);
    next();
  };
}

/** The problems of the route's rules for a request the spec refused; none without such rules. */
export function ruleProblems(res: Response): FieldProblem[] {
  const rules = res.locals[RULES] as (() => FieldProblem[]) | undefined;
  return rules ? rules() : [];
}
