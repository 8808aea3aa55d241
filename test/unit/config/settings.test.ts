// Settings: schema, parsing, bad values, and the package's default files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { readSettings, isMonitor } from '../../../plugins/lib/config/settings'
import { SCHEMA, FileName } from '../../../plugins/lib/config/schema'
import { netList } from '../../../plugins/lib/config/netlist'

const ROOT = path.resolve(__dirname, '..', '..', '..', '..')

// The same ini reader Haraka uses, on the package's own files.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const iniReader = require('haraka-config/lib/readers/ini') as { load(file: string, options?: object): Record<string, unknown> }

test('the package default files carry exactly the schema defaults', () => {
  for (const file of Object.keys(SCHEMA) as FileName[]) {
    const raw = iniReader.load(path.join(ROOT, 'config', file), {})
    const { settings, problems } = readSettings(file, raw)
    assert.deepEqual(problems, [], file)
    const schema = SCHEMA[file] as unknown as Record<string, Record<string, { default: unknown }>>
    for (const [section, keys] of Object.entries(schema)) {
      assert.ok(section in raw, `${file}: [${section}] missing`)
      for (const [key, spec] of Object.entries(keys)) {
        if (key === 'monitor') continue
        assert.ok(key in (raw[section] as object), `${file}: [${section}] ${key} missing`)
        assert.deepEqual((settings as Record<string, Record<string, unknown>>)[section][key], spec.default, `${file} [${section}] ${key}`)
      }
    }
    for (const [section, keys] of Object.entries(raw)) {
      if (section === 'main' && !Object.keys(keys as object).length) continue
      assert.ok(section in schema, `${file}: [${section}] is not in the schema`)
      for (const key of Object.keys(keys as object)) assert.ok(key in schema[section], `${file}: [${section}] ${key} is not in the schema`)
    }
  }
})

test('values are parsed by type', () => {
  const { settings, problems } = readSettings('support-codes.ini', {
    main: { monitor: 'yes', tag_all: true, allow: '192.0.2.0/24, 2001:db8::/32' },
    dns: { servers: '127.0.0.1:5353', timeout: 2.5 },
    store: { backend: 'Redis' },
  })
  assert.deepEqual(problems, [])
  assert.equal(settings.main.monitor, true)
  assert.equal(settings.main.tag_all, true)
  assert.deepEqual(settings.main.allow, ['192.0.2.0/24', '2001:db8::/32'])
  assert.deepEqual(settings.dns.servers, ['127.0.0.1:5353'])
  assert.equal(settings.dns.timeout, 2.5)
  assert.equal(settings.store.backend, 'redis')
})

test('a bad value is named and its default kept', () => {
  const { settings, problems } = readSettings('support-codes-mailfrom.ini', {
    null_sender: { reject: 'maybe', monitor: 'sure' },
    sender_rate: { limit: -1, period: '1h' },
  })
  assert.equal(settings.null_sender.reject, true)
  assert.equal(settings.null_sender.monitor, undefined)
  assert.equal(settings.sender_rate.limit, 0)
  assert.equal(settings.sender_rate.period, 3600)
  assert.deepEqual(problems.map((p) => p.message), [
    'support-codes-mailfrom.ini [null_sender] reject=maybe is not true or false; using true',
    'support-codes-mailfrom.ini [null_sender] monitor=sure is not true or false; using the [main] setting',
    'support-codes-mailfrom.ini [sender_rate] limit=-1 is outside 0..9007199254740991; using 0',
    'support-codes-mailfrom.ini [sender_rate] period=1h is not a number; using 3600',
  ])
  // A comment after a value is part of the value in Haraka's ini reader.
  const { problems: p2 } = readSettings('support-codes.ini', { main: { monitor: 'true ; on' } })
  assert.match(p2[0].message, /monitor=true ; on is not true or false; using false/)
  assert.equal(readSettings('support-codes.ini', { store: { backend: 'mysql' } }).settings.store.backend, 'memory')
})

test('monitor: the check\'s own key wins over [main]', () => {
  assert.equal(isMonitor({ monitor: undefined }, true), true)
  assert.equal(isMonitor({ monitor: false }, true), false)
  assert.equal(isMonitor({ monitor: true }, false), true)
  assert.equal(isMonitor({}, false), false)
})

test('sections outside the schema are passed on raw', () => {
  const { extra } = readSettings('support-codes-rcpt.ini', { mylist: { zone: 'bl.example', code: 'G31' } })
  assert.deepEqual(extra, { mylist: { zone: 'bl.example', code: 'G31' } })
})

test('netList: IPv4, IPv6, CIDRs, mapped addresses, junk', () => {
  const list = netList(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32', '::1', 'example.com', '10.0.0.0/33'])
  assert.deepEqual(list.invalid, ['example.com', '10.0.0.0/33'])
  assert.equal(list.has('192.0.2.200'), true)
  assert.equal(list.has('::ffff:192.0.2.1'), true)
  assert.equal(list.has('198.51.100.7'), true)
  assert.equal(list.has('198.51.100.8'), false)
  assert.equal(list.has('2001:db8:1::5'), true)
  assert.equal(list.has('2001:db9::5'), false)
  assert.equal(list.has('::1'), true)
  assert.equal(list.has('not an ip'), false)
})

test('every key is on its plugin page of docs/, in a section of its own', () => {
  const pages: Record<string, string> = {
    'support-codes.ini': 'operator-guide.md',
    'support-codes-connect.ini': 'connect.md',
    'support-codes-mailfrom.ini': 'mailfrom.md',
    'support-codes-rcpt.ini': 'rcpt.md',
    'support-codes-data.ini': 'data.md',
  }
  for (const file of Object.keys(SCHEMA) as FileName[]) {
    const page = fs.readFileSync(path.join(ROOT, 'docs', pages[file]), 'utf8')
    const schema = SCHEMA[file] as unknown as Record<string, Record<string, unknown>>
    for (const [section, keys] of Object.entries(schema)) {
      assert.ok(page.includes(`[${section}]`), `docs/${pages[file]}: no [${section}]`)
      for (const key of Object.keys(keys)) {
        // as `key` or `[section] key`
        if (key !== 'monitor') assert.match(page, new RegExp(`\`([^\`\n]*[\\] ])?${key}\``), `docs/${pages[file]}: [${section}] ${key} not named`)
      }
    }
  }
})
