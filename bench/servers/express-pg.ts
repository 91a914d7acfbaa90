// The floor of a database-backed endpoint: Express 4 answering with one prepared `pg` query (no
// query builder, no authentication, no logging). GET /v1/users/:id reads a user of the schema
// BENCH_SCHEMA; POST /v1/events writes the body's `events` with one multi-row INSERT.
import express from 'express';
import pg from 'pg';

const schema = `"${(process.env.BENCH_SCHEMA ?? '').replaceAll('"', '""')}"`;
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  application_name: process.env.BENCH_APPLICATION_NAME ?? 'bench-express-pg',
  max: Number(process.env.DATABASE_POOL_MAX ?? 10),
});
pool.on('error', () => undefined);

const readUser = {
  name: 'read-user',
  text: `select id, email, name, created_at, updated_at from ${schema}.users where id = $1 limit 1`,
};

/** `insert ... values ($1, $2, $3, $4), ...` for `rows` rows, prepared once per size. */
function insertEvents(rows: number): string {
  const values = Array.from({ length: rows }, (_, i) => {
    const p = i * 4;
    return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4})`;
  });
  return `insert into ${schema}.events (type, occurred_at, user_id, payload) values ${values.join(', ')}`;
}

interface BenchEvent {
  type: string;
  occurred_at: string;
  user_id: string | null;
  payload?: unknown;
}

const app = express();
app.get('/healthz', (_req, res) => {
  res.send('ok');
});
app.get('/v1/users/:id', async (req, res) => {
  try {
    const { rows } = await pool.query({ ...readUser, values: [req.params.id] });
    if (rows.length === 0) res.status(404).json({ error: 'not found' });
    else res.json(rows[0]);
  } catch {
    res.status(500).json({ error: 'database error' });
  }
});
app.post('/v1/events', express.json({ limit: '5mb' }), async (req, res) => {
  try {
    const events = (req.body as { events: BenchEvent[] }).events;
    const values: unknown[] = [];
    for (const e of events) values.push(e.type, e.occurred_at, e.user_id, JSON.stringify(e.payload ?? {}));
    const result = await pool.query({
      name: `insert-events-${events.length}`,
      text: insertEvents(events.length),
      values,
    });
    res.status(201).json({ accepted: result.rowCount });
  } catch {
    res.status(500).json({ error: 'database error' });
  }
});
const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
