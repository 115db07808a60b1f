// The Node.js contender: the plain `http` module, one process, as a Node user would
// write each workload. Every response body line is its own `res.write` (one chunk),
// and a write that returns false waits for 'drain' before producing more.
//
// usage: node node-server.js PORT FILE TICKER_URL HOLD_URL
//   /stream  the file's lines, one chunk each
//   /tick    the ticker's body proxied line by line
//   /hello   a small text response
//   /hold    the hold-open upstream proxied line by line (it never ends)
'use strict';
const http = require('http');
const fs = require('fs');

const [port, file, tickerUrl, holdUrl] = process.argv.slice(2);

// Calls onLine for each complete line of a stream of Buffers (newline excluded);
// onLine returns false when the consumer wants the producer paused.
function splitLines(stream, onLine, onEnd) {
  let rest = '';
  stream.setEncoding('latin1');
  stream.on('data', (data) => {
    const text = rest + data;
    let start = 0;
    let nl;
    let more = true;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      more = onLine(text.slice(start, nl)) && more;
      start = nl + 1;
    }
    rest = text.slice(start);
    if (!more) stream.pause();
  });
  stream.on('end', () => {
    if (rest.length > 0) onLine(rest);
    onEnd();
  });
  stream.on('error', onEnd);
}

function streamLines(source, res) {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.on('drain', () => source.resume());
  res.on('close', () => source.destroy());
  splitLines(source, (line) => res.write(line + '\n', 'latin1'), () => res.end());
}

const server = http.createServer((req, res) => {
  if (req.url === '/stream') {
    streamLines(fs.createReadStream(file, { highWaterMark: 64 * 1024 }), res);
  } else if (req.url === '/tick' || req.url === '/hold') {
    const upstream = req.url === '/tick' ? tickerUrl : holdUrl;
    http.get(upstream, (up) => streamLines(up, res)).on('error', () => {
      res.statusCode = 502;
      res.end();
    });
  } else if (req.url === '/hello') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello world\n');
  } else {
    res.statusCode = 404;
    res.end();
  }
});
server.listen({ port: Number(port), host: '127.0.0.1', backlog: 4096 }, () => {
  process.stderr.write(`node listening on http://127.0.0.1:${server.address().port}\n`);
});
