// A gRPC client of kuml's MConsole service written in another language than
// the server: Node with @grpc/grpc-js and @grpc/proto-loader, loading
// proto/kuml.proto at run time.
//
//   node mconsole_client.js <unix socket> <kuml.proto> <reflection_min.proto> <scenario>
//
// Scenarios: "fake" (a FakeGuestControl server: every RPC and its errors),
// "version" (print the version text), "stop" / "go" / "halt" (one call).
// Exits 1 with a message on the first unexpected answer.
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [socket, kumlProto, reflectionProto, scenario] = process.argv.slice(2);
const options = {keepCase: true, longs: String, enums: String, defaults: true};
const kuml = grpc.loadPackageDefinition(protoLoader.loadSync(kumlProto, options)).kuml.v1;
const client = new kuml.MConsole('unix:' + socket, grpc.credentials.createInsecure());

function call(method, request) {
  return new Promise((resolve) => {
    const metadata = {};
    const c = client[method](request, {deadline: Date.now() + 120000}, (error, reply) => {
      resolve({error, reply, umlErr: error && error.metadata ? error.metadata.get('uml-err')[0] : undefined});
    });
  });
}

function fail(message) {
  console.error('FAIL: ' + message);
  process.exit(1);
}
function expectEq(what, got, want) {
  if (got !== want) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  console.log(`ok ${what}`);
}

async function listServices() {
  const refl = grpc.loadPackageDefinition(protoLoader.loadSync(reflectionProto, options))
      .grpc.reflection.v1alpha;
  const rc = new refl.ServerReflection('unix:' + socket, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = rc.ServerReflectionInfo();
    stream.on('data', (r) => {
      resolve(r.list_services_response.service.map((s) => s.name));
      stream.end();
    });
    stream.on('error', reject);
    stream.write({host: '', list_services: '*'});
  });
}

async function fake() {
  let r = await call('Version', {});
  expectEq('version release', r.reply.release, '6.1.0');
  expectEq('version text', r.reply.text,
           'Linux (none) 6.1.0 #1 SMP Sat Jul  4 15:38:16 UTC 2026 x86_64');
  r = await call('Help', {});
  expectEq('help length', r.reply.text.length, 722);
  r = await call('Config', {device: 'ubd0'});
  expectEq('config ubd0', r.reply.config, 'root_fs');
  r = await call('Config', {device: 'ubd1', spec: '/srv/hot.img'});
  expectEq('config add', r.error, null);
  r = await call('Config', {device: 'ubd1', spec: '/srv/x.img'});
  expectEq('config busy code', r.error.code, grpc.status.ALREADY_EXISTS);
  expectEq('config busy text', r.error.details, 'Device is already configured');
  expectEq('config busy uml-err', r.umlErr, '-16');
  r = await call('Remove', {device: 'ubd7'});
  expectEq('remove missing code', r.error.code, grpc.status.NOT_FOUND);
  expectEq('remove missing uml-err', r.umlErr, '-19');
  r = await call('Stop', {});
  expectEq('stop', r.error, null);
  r = await call('Stop', {});
  expectEq('stop again', r.error.details, 'Already stopped');
  expectEq('stop again code', r.error.code, grpc.status.FAILED_PRECONDITION);
  r = await call('Version', {});
  expectEq('version while stopped', r.reply.machine, 'x86_64');
  r = await call('Go', {});
  expectEq('go', r.error, null);
  r = await call('Go', {});
  expectEq('go again', r.error.details, 'Not stopped');
  r = await call('Sysrq', {key: 's'});
  expectEq('sysrq s', r.reply.output, 'sysrq: Emergency Sync\n');
  r = await call('Proc', {file: 'uptime'});
  expectEq('proc uptime', r.reply.contents.toString(), '8.63 7.17\n');
  r = await call('Proc', {file: 'nonexistent'});
  expectEq('proc missing', r.error.details, 'Failed to open file');
  r = await call('Stack', {pid: 99999});
  expectEq('stack missing', r.error.details, "Couldn't find that pid");
  r = await call('Log', {text: 'from node'});
  expectEq('log', r.error, null);
  r = await call('Cad', {});
  expectEq('cad', r.error, null);
  r = await call('Command', {command: 'bogus'});
  expectEq('raw unknown err', r.reply.err, 1);
  expectEq('raw unknown text', r.reply.text, 'Unknown command');
  r = await call('Command', {command: 'versionXYZ'});
  expectEq('raw prefix match', r.reply.err, 0);
  const services = await listServices();
  expectEq('reflection lists MConsole', services.includes('kuml.v1.MConsole'), true);
  r = await call('Halt', {});
  expectEq('halt', r.error, null);
}

async function one(method) {
  const r = await call(method, {});
  if (r.error) fail(`${method}: ${r.error.details} (uml-err ${r.umlErr})`);
  console.log(method === 'Version' ? 'OK ' + r.reply.text : 'OK');
}

(async () => {
  switch (scenario) {
    case 'fake': await fake(); break;
    case 'version': await one('Version'); break;
    case 'stop': await one('Stop'); break;
    case 'go': await one('Go'); break;
    case 'halt': await one('Halt'); break;
    default: fail('unknown scenario ' + scenario);
  }
  console.log('PASS');
  process.exit(0);
})().catch((e) => fail(String(e && e.stack || e)));
