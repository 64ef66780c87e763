// Runs inside the test guest. `hindsight serve` listens on 127.0.0.1 only; QEMU's port forward
// arrives on the guest's own address. This relays one to the other, byte for byte, so the host's
// browser reaches browser mode with the Host header it would send to a local server.
import { connect, createServer } from 'node:net';

const [address, portText] = process.argv.slice(2);
const port = Number(portText);
createServer((client) => {
  const upstream = connect(port, '127.0.0.1');
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.pipe(upstream).pipe(client);
}).listen(port, address);
