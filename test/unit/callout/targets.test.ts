// [callout] routes: which entries are kept and which are named as bad.
// Targets from routes and DNS are tested against the rig's DNS server
// (test/rig/callout-targets.test.ts).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseRoutes } from '../../../plugins/lib/callout/targets'

describe('parseRoutes', () => {
  test('good and bad entries', () => {
    const { routes, invalid } = parseRoutes([
      'Example.COM=127.0.0.1:2526',
      'v6.example=[::1]:25',
      'v6port.example=[2001:db8::1]',
      'named.example=MX.Internal',
      ' spaced.example = 127.0.0.9:26 ',
      '',
      'noequals.example',
      'bad.example=127.0.0.1:0',
      'bad2.example=127.0.0.1:70000',
      'bare6.example=::1',
      'bad3.example=[not-v6]:25',
      'bad4.example=999.1.1.1',
      '=127.0.0.1',
      'bad5.example=127.0.0.1:25:26',
    ])
    assert.deepEqual([...routes], [
      ['example.com', { host: '127.0.0.1', port: 2526 }],
      ['v6.example', { host: '::1', port: 25 }],
      ['v6port.example', { host: '2001:db8::1', port: 25 }],
      ['named.example', { host: 'mx.internal', port: 25 }],
      ['spaced.example', { host: '127.0.0.9', port: 26 }],
    ])
    assert.deepEqual(invalid, [
      'noequals.example',
      'bad.example=127.0.0.1:0',
      'bad2.example=127.0.0.1:70000',
      'bare6.example=::1',
      'bad3.example=[not-v6]:25',
      'bad4.example=999.1.1.1',
      '=127.0.0.1',
      'bad5.example=127.0.0.1:25:26',
    ])
  })
})
