// Baseline: the cheapest possible HTTP server in node, answering every request with a short text.
import { createServer } from 'node:http';

const body = 'Hello, world!';
const server = createServer((_req, res) => {
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
