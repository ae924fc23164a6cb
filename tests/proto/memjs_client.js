// Drives memjs (a binary-protocol-only Node client) against one server and
// prints what it saw as one JSON object on stdout; test_binary_clients.py
// checks it. (memjs 1.3.2's prepend sends an APPEND opcode, so it is not
// used here.)
//
//   node memjs_client.js <node_modules dir> <host:port> <key prefix>
'use strict';

const path = require('path');
const [modules, server, prefix] = process.argv.slice(2);
const memjs = require(path.join(modules, 'memjs'));

function str(buf) {
  return buf === null || buf === undefined ? null : buf.toString('latin1');
}

async function main() {
  const client = memjs.Client.create(server, {
    retries: 0, timeout: 5, conntimeout: 5, logger: { log: () => {} },
  });
  const out = {};
  const k = (name) => prefix + name;

  out.set = await client.set(k('a'), 'alpha', { expires: 0 });
  let r = await client.get(k('a'));
  out.get = str(r.value);
  out.get_flags = r.flags ? r.flags.toString('hex') : null;
  r = await client.get(k('missing'));
  out.get_missing = str(r.value);
  out.set_binary = await client.set(k('b'), Buffer.from([0, 13, 10, 255, 128]), {});
  out.get_binary = (await client.get(k('b'))).value.toString('hex');
  out.add_existing = await client.add(k('a'), 'x', {}).catch((e) => 'error: ' + e.message);
  out.add_new = await client.add(k('c'), 'gamma', {});
  out.replace = await client.replace(k('c'), 'GAMMA', {});
  out.append = await client.append(k('c'), '!');
  out.get_c = str((await client.get(k('c'))).value);
  out.delete = await client.delete(k('c'));
  out.delete_again = await client.delete(k('c'));
  out.get_deleted = str((await client.get(k('c'))).value);
  r = await client.increment(k('n'), 5, { initial: 10 });
  out.incr_create = [r.success, r.value];
  r = await client.increment(k('n'), 5, {});
  out.incr = [r.success, r.value];
  r = await client.decrement(k('n'), 100, {});
  out.decr = [r.success, r.value];
  out.get_n = str((await client.get(k('n'))).value);
  out.touch = await client.touch(k('a'), 100);
  out.touch_missing = await client.touch(k('missing'), 100);
  out.stats = await new Promise((resolve, reject) => {
    client.stats((err, srv, stats) => (err ? reject(err) : resolve(stats)));
  });
  out.flush = await client.flush();
  out.get_after_flush = str((await client.get(k('a'))).value);
  client.close();
  return out;
}

main().then(
  (out) => { process.stdout.write(JSON.stringify(out) + '\n'); process.exit(0); },
  (err) => { process.stderr.write('memjs failed: ' + (err && err.stack || err) + '\n'); process.exit(1); });
