// Where to call: targets from [callout] routes and from the rig's DNS server
// (MX by preference, implicit MX, null MX, failures).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { calloutTargets, parseRoutes } from '../../plugins/lib/callout/targets'
import { makeDns } from '../../plugins/lib/dns/resolver'
import { TestDns } from './dns-server'

describe('calloutTargets', () => {
  test('routes, MX by preference, implicit MX, null MX, failures', async (t) => {
    const dns = await TestDns.start({
      records: {
        'mx.example': [
          { type: 'MX', data: { preference: 20, exchange: 'b.mx.example' } },
          { type: 'MX', data: { preference: 10, exchange: 'a.mx.example' } },
          { type: 'MX', data: { preference: 30, exchange: 'none.mx.example' } },
        ],
        'a.mx.example': [{ type: 'A', data: '127.0.0.2' }],
        'b.mx.example': [{ type: 'A', data: '127.0.0.3' }, { type: 'A', data: '127.0.0.2' }],
        'amx.example': [{ type: 'A', data: '127.0.0.4' }],
        'null.example': [{ type: 'MX', data: { preference: 0, exchange: '.' } }],
        'routed.example': [{ type: 'MX', data: { preference: 10, exchange: 'a.mx.example' } }],
        'noaddr.example': [{ type: 'MX', data: { preference: 10, exchange: 'none.mx.example' } }],
      },
      servfail: ['broken.example'],
    })
    t.after(() => dns.stop())
    const resolver = makeDns([dns.address], 1)
    const { routes } = parseRoutes(['Routed.Example=127.0.0.1:2526'])

    assert.deepEqual(await calloutTargets('Routed.Example', routes, resolver), { targets: [{ host: '127.0.0.1', port: 2526 }] })
    assert.deepEqual(await calloutTargets('mx.example', routes, resolver, 2525), {
      targets: [{ host: '127.0.0.2', port: 2525 }, { host: '127.0.0.3', port: 2525 }],
    })
    assert.deepEqual(await calloutTargets('amx.example', routes, resolver), { targets: [{ host: '127.0.0.4', port: 25 }] })

    const none = await calloutTargets('null.example', routes, resolver)
    assert.deepEqual(none.targets, [])
    assert.match(none.why ?? '', /null MX/)
    const failed = await calloutTargets('broken.example', routes, resolver)
    assert.deepEqual(failed.targets, [])
    assert.match(failed.why ?? '', /MX lookup for broken\.example failed \(ESERVFAIL\)/)
    const missing = await calloutTargets('nothing.example', routes, resolver)
    assert.deepEqual(missing.targets, [])
    assert.match(missing.why ?? '', /no MX and no A/)
    const noaddr = await calloutTargets('noaddr.example', routes, resolver)
    assert.deepEqual(noaddr.targets, [])
    assert.match(noaddr.why ?? '', /no address for the MX hosts/)
  })
})
