// Reference: Express 4 with its default settings, answering every request with a short text.
import express from 'express';

const app = express();
app.get('*', (_req, res) => {
  res.send('Hello, world!');
});
const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
