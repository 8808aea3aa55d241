// The metrics' names, labels and values as a scrape shows them, and that off
// they record nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BundleMetrics } from '../../../plugins/lib/metrics/bundle-metrics'
import { parseListen } from '../../../plugins/lib/metrics/listener'

function series(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
}

test('on: every series with its labels and values', async () => {
  const m = new BundleMetrics()
  m.serve('test')
  m.reply('G34', 'mailfrom', 'refused')
  m.reply('G34', 'mailfrom', 'refused')
  m.reply('G8/G9', 'rcpt', 'monitor')
  m.reply('G1F', 'connect', 'deferred')
  m.check('null_sender', 'fire')
  m.check('ptr', 'pass')
  m.checkSeconds('data', 0.003)
  m.dependencyError('dns')
  m.scanThreadQueue(2)
  m.storeFailedOpen()
  const { contentType, text } = await m.exposition()
  assert.match(contentType, /^text\/plain; version=0\.0\.4/)
  const lines = series(text)
  for (const want of [
    'support_codes_replies_total{code="G34",phase="mailfrom",action="refused"} 2',
    'support_codes_replies_total{code="G8/G9",phase="rcpt",action="monitor"} 1',
    'support_codes_replies_total{code="G1F",phase="connect",action="deferred"} 1',
    'support_codes_checks_total{check="null_sender",result="fire"} 1',
    'support_codes_checks_total{check="ptr",result="pass"} 1',
    'support_codes_check_seconds_bucket{le="0.001",phase="data"} 0',
    'support_codes_check_seconds_bucket{le="0.005",phase="data"} 1',
    'support_codes_check_seconds_count{phase="data"} 1',
    'support_codes_dependency_errors_total{dependency="dns"} 1',
    'support_codes_scan_thread_queue 2',
    'support_codes_store_fail_open_total 1',
  ]) assert.ok(lines.includes(want), `${want}\n${lines.join('\n')}`)
})

test('off: nothing is recorded', async () => {
  const m = new BundleMetrics()
  m.reply('G34', 'mailfrom', 'refused')
  m.check('null_sender', 'fire')
  m.checkSeconds('data', 0.003)
  m.dependencyError('dns')
  m.scanThreadQueue(2)
  m.storeFailedOpen()
  const lines = series((await m.exposition()).text)
  assert.deepEqual(lines, ['support_codes_scan_thread_queue 0', 'support_codes_store_fail_open_total 0'])
})

test('on while anyone serves: the listener and the HTTP route each turn it on, the last to stop turns it off', () => {
  const m = new BundleMetrics()
  assert.equal(m.enabled, false)
  m.serve('listener')
  m.serve('http')
  m.serve('listener') // a second serve by the same name counts once
  assert.equal(m.enabled, true)
  m.unserve('listener')
  assert.equal(m.enabled, true)
  m.unserve('nobody')
  assert.equal(m.enabled, true)
  m.unserve('http')
  assert.equal(m.enabled, false)
  m.unserve('http')
  assert.equal(m.enabled, false)
})

test('each process has its own registry, not the global one', async () => {
  const a = new BundleMetrics()
  const b = new BundleMetrics()
  a.serve('test')
  a.storeFailedOpen()
  assert.ok(series((await b.exposition()).text).includes('support_codes_store_fail_open_total 0'))
})

test('listen is host:port', () => {
  assert.deepEqual(parseListen('127.0.0.1:9465'), { host: '127.0.0.1', port: 9465 })
  assert.deepEqual(parseListen('[::1]:9465'), { host: '::1', port: 9465 })
  assert.equal(parseListen('127.0.0.1'), undefined)
  assert.equal(parseListen('127.0.0.1:0'), undefined)
  assert.equal(parseListen('127.0.0.1:70000'), undefined)
  assert.equal(parseListen(':9465'), undefined)
})
