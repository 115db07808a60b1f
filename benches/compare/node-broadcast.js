// The Node contender for the broadcast workload: one upstream, every subscriber.
// GET /bcast subscribes; the first subscriber opens the upstream (a ticking server,
// read line by line), each line is written to every subscriber's response as it
// arrives, and the upstream is closed when the last subscriber leaves, like
// `bcast` in ilo. Node's own per-response buffering stands in for ilo's bounded
// inbox (a stalled client is not disconnected here).
//
//   node node-broadcast.js PORT UPSTREAM_URL
'use strict';
const http = require('http');

const [port, upstreamUrl] = process.argv.slice(2);
const subscribers = new Set();
let upstream = null;

function open() {
  let rest = '';
  upstream = http.get(upstreamUrl, (res) => {
    res.setEncoding('utf8');
    res.on('data', (data) => {
      const text = rest + data;
      const cut = text.lastIndexOf('\n') + 1;
      rest = text.slice(cut);
      if (cut === 0) return;
      const lines = text.slice(0, cut);
      for (const sub of subscribers) sub.write(lines);
    });
    res.on('end', () => {
      for (const sub of subscribers) sub.end();
      upstream = null;
    });
  });
  upstream.on('error', () => { upstream = null; });
}

http.createServer((req, res) => {
  if (req.url !== '/bcast') {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.socket.setNoDelay(true);
  subscribers.add(res);
  if (upstream === null) open();
  res.on('close', () => {
    subscribers.delete(res);
    if (subscribers.size === 0 && upstream !== null) {
      upstream.destroy();
      upstream = null;
    }
  });
}).listen(Number(port), '127.0.0.1', () => {
  console.error(`node broadcast listening on http://127.0.0.1:${port}`);
});
