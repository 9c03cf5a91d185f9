// The baseline of the select throughput target: a bare express "hello" endpoint, run as its own
// process exactly like the api (same node, same express, same keep-alive settings, no middleware).
// It answers any method on any path, so the load generator can send it the very requests it sends
// to select (node's http parser still reads and discards their bodies).
import http from 'node:http';
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use((_req, res) => {
  res.send('hello');
});

const server = http.createServer(app);
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(Number(process.env['PORT'] ?? 0), process.env['HOST'] ?? '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ msg: 'hello listening', port }));
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
