// support_codes_dependency_errors_total, counted where each service fails,
// once per failed lookup, command, scan or callout (real servers on
// loopback: the rig's DNS server, a downstream SMTP server, a port nobody
// listens on); and support_codes_scan_thread_queue from the real scan thread.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import * as net from 'node:net'
import { BundleProcess } from '../../../plugins/lib/haraka/process'
import { Callout } from '../../../plugins/lib/callout/callout'
import { clamdScan } from '../../../plugins/lib/content/clamd'
import { ScanThread } from '../../../plugins/lib/content/scan-thread'
import { dataPhase } from '../../../plugins/lib/phases/data'
import { phaseRun } from '../../../plugins/lib/phases/run'
import { readSettings } from '../../../plugins/lib/config/settings'
import { TestDns } from '../../rig/dns-server'
import { Downstream } from '../../rig/downstream'
import { freePort } from '../../rig/ports'
import { mimeMessage } from '../../rig/mime-build'

let dns: TestDns

before(async () => {
  dns = await TestDns.start({
    records: { 'ok.example': [{ type: 'A', data: '192.0.2.1' }] },
    servfail: ['broken.example'],
    silent: ['silent.example'],
  })
})

after(async () => {
  await dns.stop()
})

function on(): BundleProcess {
  const shared = new BundleProcess()
  shared.metrics.serve('test')
  return shared
}

async function lines(shared: BundleProcess, prefix: string): Promise<string[]> {
  return (await shared.metrics.exposition()).text.split('\n').filter((l) => l.startsWith(prefix)).sort()
}

const errors = (shared: BundleProcess): Promise<string[]> => lines(shared, 'support_codes_dependency_errors_total{')

test('dns: each lookup that SERVFAILs or times out, through either view; not NXDOMAIN, not an answer, not a kept one', async () => {
  const shared = on()
  const d = shared.dns.dns([dns.address], 0.3, 60)
  const mailauth = shared.dns.mailauth([dns.address], 0.3, 60)
  assert.deepEqual(await d.a('ok.example'), { status: 'ok', values: ['192.0.2.1'] })
  assert.deepEqual(await d.a('ok.example'), { status: 'ok', values: ['192.0.2.1'] })
  assert.deepEqual(await d.a('nothing.example'), { status: 'none', code: 'ENOTFOUND' })
  assert.deepEqual(await d.a('nothing.example'), { status: 'none', code: 'ENOTFOUND' })
  assert.deepEqual(await errors(shared), [])
  assert.deepEqual(await d.a('broken.example'), { status: 'error', code: 'ESERVFAIL' })
  // a failure is not kept: asked, and counted, again
  assert.deepEqual(await d.a('broken.example'), { status: 'error', code: 'ESERVFAIL' })
  assert.deepEqual(await d.a('silent.example'), { status: 'error', code: 'ETIMEOUT' })
  await assert.rejects(mailauth('broken.example', 'TXT'), { code: 'ESERVFAIL' })
  assert.deepEqual(await errors(shared), ['support_codes_dependency_errors_total{dependency="dns"} 4'])
})

test('dns: metrics off, a failure records nothing', async () => {
  const shared = new BundleProcess()
  assert.deepEqual(await shared.dns.dns([dns.address], 0.3, 60).a('broken.example'), { status: 'error', code: 'ESERVFAIL' })
  assert.deepEqual(await errors(shared), [])
})

test('redis: each command that fails (here: nothing listens), with the store fail-open count', async () => {
  const shared = on()
  const port = await freePort()
  const store = shared.stores.get('redis', { kind: 'server', host: '127.0.0.1', port }, 0.2, { logwarn: () => undefined, loginfo: () => undefined })
  try {
    await assert.rejects(store.incr('k', 1, 60))
    await assert.rejects(store.fetch('k'))
  } finally {
    await shared.stores.close()
  }
  assert.deepEqual(await errors(shared), ['support_codes_dependency_errors_total{dependency="redis"} 2'])
  assert.deepEqual(await lines(shared, 'support_codes_store_fail_open_total'), ['support_codes_store_fail_open_total 2'])
})

test('callout: a server that cannot be reached or does not answer in time; not a 4xx or 5xx reply, not a second MX that answers', async () => {
  const shared = on()
  const callout = new Callout({ helo: 'mx.test', timeoutMs: 400, maxPerServer: 5, unreachable: shared.calloutFailed })
  const down = await Downstream.start({ answers: { 'gone@d.example': '550 5.1.1 No such user', 'busy@d.example': '451 4.3.0 Try later', 'slow@d.example': 'hang' } })
  const closed = { host: '127.0.0.1', port: await freePort() }
  const up = { host: down.host, port: down.port }
  try {
    assert.equal((await callout.verify(up, 'gone@d.example')).result, 'unknown')
    assert.equal((await callout.verify(up, 'busy@d.example')).result, 'tempfail')
    assert.equal((await callout.verifyAny([closed, up], 'ok@d.example')).result, 'valid')
    assert.deepEqual(await errors(shared), [])
    assert.equal((await callout.verify(closed, 'ok@d.example')).result, 'tempfail')
    assert.equal((await callout.verify(up, 'slow@d.example')).result, 'tempfail')
    // both MX hosts down: one callout, one failure
    assert.equal((await callout.verifyAny([closed, closed], 'ok@d.example')).result, 'tempfail')
  } finally {
    await down.stop()
  }
  assert.deepEqual(await errors(shared), ['support_codes_dependency_errors_total{dependency="callout"} 3'])
})

/** A clamd stand-in on loopback that answers every scan with `reply` (an error line), or drops the connection. */
async function fakeClamd(reply: string | undefined): Promise<{ address: string; close: () => Promise<void> }> {
  const server = net.createServer((sock) => {
    sock.on('data', () => {
      if (reply === undefined) sock.destroy()
      else sock.end(`${reply}\0`)
    })
    sock.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return { address: `127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) }
}

test('clamd: each scan that fails (no connection, an error answer, a dropped connection); not a message past [virus] max_bytes', async () => {
  const shared = on()
  const erring = await fakeClamd('INSTREAM size limit exceeded. ERROR')
  const dropping = await fakeClamd(undefined)
  const nobody = `127.0.0.1:${await freePort()}`
  const raw = Buffer.from(mimeMessage({ text: 'x'.repeat(2000) }))
  const scan = async (clamd: string, maxBytes = 1_000_000): Promise<string[]> => {
    const own = readSettings('support-codes-data.ini', {
      virus: { clamd, on_error: 'accept', max_bytes: String(maxBytes), timeout: '2' },
      spf: { reject_fail: 'false' }, dmarc: { reject: 'false', temperror: 'accept' },
    }).settings
    const run = phaseRun(own, false, 'data')
    await dataPhase(run, own, {
      received: [], self: ['mx.test'], raw: async () => raw, banned: new Set(), clamdFailed: shared.clamdFailed,
      authenticate: async () => { throw new Error('unused') },
    })
    return run.steps.filter((s) => s.check === 'virus').map((s) => (s.failed ? 'error' : s.verdict ? 'fire' : 'pass'))
  }
  try {
    assert.deepEqual(await scan(erring.address), ['error'])
    assert.deepEqual(await scan(dropping.address), ['error'])
    assert.deepEqual(await scan(nobody), ['error'])
    assert.deepEqual(await errors(shared), ['support_codes_dependency_errors_total{dependency="clamd"} 3'])
    // too large to send ([virus] max_bytes at its least, 1024): not clamd's failure
    assert.ok(raw.length > 1024)
    assert.deepEqual(await scan(nobody, 1024), ['error'])
    assert.deepEqual(await errors(shared), ['support_codes_dependency_errors_total{dependency="clamd"} 3'])
    // the scanner client itself reports, it counts nothing
    assert.equal((await clamdScan(nobody, raw, { timeoutMs: 500, maxBytes: 1_000_000 })).status, 'error')
    assert.deepEqual(await errors(shared), ['support_codes_dependency_errors_total{dependency="clamd"} 3'])
  } finally {
    await erring.close()
    await dropping.close()
  }
})

test('scan_thread_queue: the scans waiting behind the one the thread works on, set on every change', async () => {
  const shared = on()
  const seen: number[] = []
  const thread = new ScanThread(() => undefined)
  thread.queueChanged = (waiting) => {
    seen.push(waiting)
    shared.scanQueue(waiting)
  }
  const own = readSettings('support-codes-data.ini', {}).settings
  const raw = Buffer.from(mimeMessage({ attachments: [{ name: 'run.exe', data: 'MZ' }] }))
  const route = { minBytes: 1, forceBytes: 0, timeoutMs: 10_000 }
  try {
    const scans = [thread.facts(raw, own, route), thread.facts(raw, own, route), thread.facts(raw, own, route)]
    await assert.doesNotReject(Promise.all(scans))
  } finally {
    await thread.close()
  }
  assert.deepEqual(seen, [1, 2, 1, 0])
  assert.deepEqual(await lines(shared, 'support_codes_scan_thread_queue'), ['support_codes_scan_thread_queue 0'])
  shared.scanQueue(2)
  assert.deepEqual(await lines(shared, 'support_codes_scan_thread_queue'), ['support_codes_scan_thread_queue 2'])
})
