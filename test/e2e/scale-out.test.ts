// End to end on the Redis deployments a fleet runs: one Redis, a Redis
// Cluster (3 masters, 3 replicas) and a Sentinel set (1 master, 2 replicas,
// 3 sentinels), all real servers on loopback, each shared by three Haraka
// nodes with the four plugins. On each: G2 and G29 hold across the nodes; a
// node killed with connections open stops counting them within [store]
// heartbeat; and (cluster, Sentinel) a master killed under load: no crash,
// every session answered, one log line per outage and node, recovery by
// itself, and no connection left counted.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { Redis } from '../rig/redis'
import { RedisCluster } from '../rig/redis-cluster'
import { RedisSentinelSet } from '../rig/redis-sentinel'
import { SmtpClient, message, sendMail } from '../rig/smtp-client'
import { waitFor } from '../rig/wait'

const G2 = '421 Too many concurrent connections from this client (G2)'
const G29 = '550 5.0.0 Received too many messages from a sender mailbox'
const HEARTBEAT_S = 3
const DOWN = /checks that need the store let mail through until it is back/g
const BACK = /is back; checks that count use it again \((\d+) store operation\(s\) let mail through meanwhile\)/

interface Topology {
  name: string
  /** Calls per command since the last reset (one Redis only). */
  calls?: () => Promise<Record<string, number>>
  resetCalls?: () => Promise<void>
  /** redis.ini for the nodes. */
  ini: string
  flush(): Promise<void>
  /** Kills the master that holds key; resolves with the ms until a replica took over. */
  failover?(key: string): Promise<number>
  stop(): Promise<void>
}

async function oneRedis(): Promise<Topology> {
  const r = await Redis.start()
  return {
    name: 'one Redis',
    ini: `[server]\nhost=127.0.0.1\nport=${r.port}\n`,
    flush: async () => void (await r.command('FLUSHALL')),
    // The commands the bundle sends (those its scripts run inside are counted apart by Redis).
    calls: async () => {
      const out: Record<string, number> = {}
      for (const m of String(await r.command('INFO', 'commandstats')).matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
        if (['evalsha', 'eval', 'mget', 'zrem'].includes(m[1])) out[m[1]] = Number(m[2])
      }
      return out
    },
    resetCalls: async () => void (await r.command('CONFIG', 'RESETSTAT')),
    stop: () => r.stop(),
  }
}

async function cluster(): Promise<Topology> {
  const c = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 })
  return {
    name: 'Redis Cluster, 3 masters and 3 replicas',
    ini: `[cluster]\nnodes=${c.seeds}\n`,
    flush: () => c.flushAll(),
    failover: async (key) => {
      const port = await c.masterFor(key)
      await c.killNode(port)
      return c.waitForFailover(port, 30_000)
    },
    stop: () => c.stop(),
  }
}

async function sentinel(): Promise<Topology> {
  const s = await RedisSentinelSet.start({ replicas: 2, sentinels: 3 })
  return {
    name: 'Redis Sentinel, 1 master, 2 replicas and 3 sentinels',
    ini: `[sentinel]\nnodes=${s.sentinels}\nname=${s.name}\n`,
    flush: () => s.flushAll(),
    failover: async () => {
      const port = await s.master()
      await s.killNode(port)
      return s.waitForFailover(port, 30_000)
    },
    stop: () => s.stop(),
  }
}

let dns: TestDns
before(async () => { dns = await TestDns.start({ records: {} }) })
after(async () => { await dns.stop() })

const open = (h: Haraka, ip: string): Promise<SmtpClient> => SmtpClient.connect({ port: h.port, proxyFrom: ip, timeoutMs: 10_000 })

function send(h: Haraka, from: string, ip: string): ReturnType<typeof sendMail> {
  return sendMail({ port: h.port, proxyFrom: ip, helo: 'client.sender.example', from, to: ['bob@example.com'], message: message({ from, to: 'bob@example.com' }), timeoutMs: 15_000 })
}

/** Opens three connections from ip on the given nodes; resolves with their first lines, then closes them. */
async function threeFrom(nodes: Haraka[], ip: string): Promise<string[]> {
  const cs: SmtpClient[] = []
  for (const h of nodes) cs.push(await open(h, ip))
  const lines = cs.map((c) => c.greeting.text.startsWith('220 ') ? '220' : c.greeting.text)
  for (const c of cs) c.close()
  return lines
}

const TOPOLOGIES: Array<[string, () => Promise<Topology>]> = [['one Redis', oneRedis], ['a Redis Cluster', cluster], ['a Sentinel set', sentinel]]

/** Waits until h counts connections in the store: two let in from one client, the third refused. */
async function untilCounting(h: Haraka): Promise<void> {
  await waitFor(`node ${h.port} to count`, async () => JSON.stringify(await threeFrom([h, h, h], '198.18.5.4')) === JSON.stringify(['220', '220', G2]), 15_000, 200)
}

for (const [label, make] of TOPOLOGIES) {
  describe(`shared counters on ${label}`, () => {
    let topo: Topology
    let nodes: Haraka[] = []
    // Every counter check on: G2 and G29 with low limits, G28 and G30 high.
    const ini = (heartbeat = HEARTBEAT_S): Record<string, string> => ({
      'support-codes.ini': `[store]\nbackend=redis\nheartbeat=${heartbeat}\ntimeout=0.5\n`,
      'support-codes-connect.ini': '[concurrency]\nmax=2\n[ptr]\nenabled=false\n',
      'support-codes-mailfrom.ini': '[sender_rate]\nlimit=3\n',
      'support-codes-rcpt.ini': '[dnsbl]\nzones=\n[new_ip]\nlimit=100000\n[mailbox_rate]\nlimit=100000\n',
      'redis.ini': topo.ini,
    })
    const node = (heartbeat?: number): Promise<Haraka> => Haraka.start({ dns: dns.address, config: ini(heartbeat), replay: false })

    before(async () => {
      topo = await make()
      nodes = await Promise.all([node(), node(), node()])
      // Mail that comes before a node's link to Redis is up is let through
      // uncounted; the tests start once every node counts.
      for (const h of nodes) await untilCounting(h)
    })
    after(async () => {
      await Promise.all(nodes.map((h) => h.stop()))
      await topo.stop()
    })

    test('G2: two connections of one client on two nodes; the third, on the third node, is refused', async () => {
      await topo.flush()
      const ip = '198.18.5.3'
      const held = [await open(nodes[0], ip), await open(nodes[1], ip)]
      assert.deepEqual(held.map((c) => c.greeting.code), [220, 220])
      const third = await open(nodes[2], ip)
      assert.equal(third.greeting.text, G2)
      await third.closed
      await held[0].quit()
      // The leave is not waited for by Haraka: the next connect follows it.
      await waitFor('a connection to be let in again', async () => {
        const c = await open(nodes[2], ip)
        c.close()
        return c.greeting.code === 220
      }, 5000, 100)
      await held[1].quit()
    })

    test('G29: three messages of one sender through three nodes; the fourth is refused at MAIL FROM', async () => {
      await topo.flush()
      const from = 'carol@sender.example'
      const codes: number[] = []
      for (const [i, h] of nodes.entries()) codes.push((await send(h, from, `198.18.6.${i + 1}`)).data?.code ?? 0)
      assert.deepEqual(codes, [250, 250, 250])
      const fourth = await send(nodes[0], from, '198.18.6.9')
      assert.equal(fourth.mail.text, G29)
    })

    test(`a Haraka node killed with connections open: its counts lapse within [store] heartbeat (${HEARTBEAT_S} s)`, async (t) => {
      await topo.flush()
      const ip = '198.18.5.2'
      const doomed = await node()
      t.after(() => doomed.stop())
      await untilCounting(doomed)
      const held = [await open(doomed, ip), await open(doomed, ip)]
      assert.deepEqual(held.map((c) => c.greeting.code), [220, 220])
      assert.equal((await open(nodes[0], ip)).greeting.text, G2)
      await doomed.kill()
      const killed = Date.now()
      await waitFor('the dead node\'s connections to lapse', async () => {
        const c = await open(nodes[0], ip)
        c.close()
        return c.greeting.code === 220
      }, 20_000, 200)
      const lapsed = Date.now() - killed
      t.diagnostic(`counted for ${lapsed} ms after the node died (heartbeat ${HEARTBEAT_S} s)`)
      assert.ok(lapsed <= HEARTBEAT_S * 1000 + 2000, `counted for ${lapsed} ms`)
    })

    if (make === oneRedis) {
      test('Redis calls per message: 9 for an accepted one, 4 for one refused at MAIL FROM; the session waits on one per phase', async (t) => {
        await topo.flush()
        // Renewals every 10 s (heartbeat 30) stay out of the count.
        const h = await node(30)
        t.after(() => h.stop())
        await untilCounting(h)
        const settled = async (want: number): Promise<Record<string, number>> => {
          const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0)
          // Counting after the reply is not waited for by the session: wait for it here.
          await waitFor(`${want} calls`, async () => total(await topo.calls?.() ?? {}) >= want, 5000, 50)
          await new Promise((r) => setTimeout(r, 200))
          return topo.calls?.() ?? {}
        }
        // Loads the scripts (EVAL once each).
        assert.equal((await send(h, 'warm@sender.example', '198.18.7.1')).data?.code, 250)
        await settled(9)
        await topo.resetCalls?.()
        // Accepted, phase by phase: each phase's counter work is one call
        // per hash slot, sent together (one write), and the session waits
        // only on those its answer needs: the JOIN (greeting), the MAIL MGET
        // and the RCPT MGET. 9 calls in all.
        const sum = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0)
        let last: Record<string, number> = {}
        const delta = async (want: number): Promise<Record<string, number>> => {
          await waitFor(`${want} more call(s)`, async () => sum(await topo.calls?.() ?? {}) - sum(last) >= want, 5000, 20).catch(() => undefined)
          await new Promise((r) => setTimeout(r, 150))
          const now = await topo.calls?.() ?? {}
          const d: Record<string, number> = {}
          for (const [k, v] of Object.entries(now)) if (v !== (last[k] ?? 0)) d[k] = v - (last[k] ?? 0)
          last = now
          return d
        }
        const c = await open(h, '198.18.7.2')
        assert.equal(c.greeting.code, 220)
        assert.deepEqual(await delta(2), { evalsha: 2 }, 'connect: the JOIN and the first-seen record')
        await c.ehlo('client.sender.example')
        assert.equal((await c.send('MAIL FROM:<dora@sender.example>')).code, 250)
        assert.deepEqual(await delta(1), { mget: 1 }, 'MAIL: the G29 window')
        assert.equal((await c.send('RCPT TO:<bob@example.com>')).code, 250)
        assert.deepEqual(await delta(2), { mget: 1, evalsha: 1 }, 'RCPT: the G28 and G30 windows in one MGET; the recipient counted after the reply')
        assert.equal((await c.data(message({ from: 'dora@sender.example', to: 'bob@example.com' }))).code, 250)
        assert.deepEqual(await delta(3), { evalsha: 3 }, 'DATA accepted: sender, client and mailbox counted')
        await c.quit()
        assert.deepEqual(await delta(1), { zrem: 1 }, 'QUIT: the leave')
        // Refused at MAIL FROM (G29): connect (2), MAIL (1), the leave (1).
        for (let i = 0; i < 3; i++) await send(h, 'eve@sender.example', `198.18.7.${10 + i}`)
        await settled(9 + 27)
        await topo.resetCalls?.()
        assert.equal((await send(h, 'eve@sender.example', '198.18.7.20')).mail.text, G29)
        assert.deepEqual(await settled(4), { evalsha: 2, mget: 1, zrem: 1 })
      })
      return
    }

    test('a master killed under load: no crash, every session answered, one log line per outage, recovery by itself, no count left behind', async (t) => {
      await topo.flush()
      const ip = '198.18.5.1'
      // Two connections counted on the master about to die.
      const held = [await open(nodes[0], ip), await open(nodes[1], ip)]
      assert.deepEqual(held.map((c) => c.greeting.code), [220, 220])
      assert.deepEqual(await threeFrom([nodes[2]], ip), [G2])
      const downBefore = nodes.map((h) => (h.log.match(DOWN) ?? []).length)

      // Load: three sessions at a time on each node, each from its own client
      // and sender, for as long as the failover takes.
      let running = true
      let n = 0
      const outcomes: string[] = []
      const loop = async (h: Haraka): Promise<void> => {
        while (running) {
          const i = n++
          const client = `198.18.${20 + Math.floor(i / 250)}.${(i % 250) + 1}`
          try {
            const r = await send(h, `load${i}@sender.example`, client)
            outcomes.push(String(r.data?.code ?? r.rcpts[0]?.text ?? r.mail.text))
          } catch (err) {
            outcomes.push(`error: ${(err as Error).message}`)
          }
        }
      }
      const loops = nodes.flatMap((h) => [loop(h), loop(h), loop(h)])
      await new Promise((r) => setTimeout(r, 1000))

      const killed = Date.now()
      // When each node that saw the outage says the store is back.
      const logAt = nodes.map((h) => h.log.length)
      const backMs = nodes.map((h, i) => waitFor('the store back', () => BACK.test(h.log.slice(logAt[i])), 60_000, 50).then(() => Date.now() - killed, () => undefined))
      const failoverMs = await topo.failover?.(`sc:conc:{${ip}}`) ?? 0
      // The held connections end after the failover: they leave on the new master.
      for (const c of held) await c.quit()
      // Counting works again and nothing is left counted: two connections of
      // the client are let in and the third is refused, within the heartbeat.
      let correctMs = 0
      await waitFor('G2 to count correctly again', async () => {
        const lines = await threeFrom([nodes[0], nodes[1], nodes[2]], ip)
        correctMs = Date.now() - killed
        return JSON.stringify(lines) === JSON.stringify(['220', '220', G2])
      }, failoverMs + HEARTBEAT_S * 1000 + 15_000, 300)
      await new Promise((r) => setTimeout(r, 1000))
      running = false
      await Promise.all(loops)

      // Every session was answered, and each was accepted (fail-open while
      // the store could not answer).
      const notAccepted = outcomes.filter((o) => o !== '250')
      assert.deepEqual(notAccepted, [], `${notAccepted.length} of ${outcomes.length} sessions`)
      assert.ok(outcomes.length >= 20, `${outcomes.length} sessions under load`)
      // No node crashed; each said "down" at most once for this outage, and
      // each that did said "back".
      for (const [i, h] of nodes.entries()) {
        assert.equal(h.running, true, `node ${i} runs`)
        const downs = (h.log.match(DOWN) ?? []).length - downBefore[i]
        assert.ok(downs <= 1, `node ${i} logged the outage ${downs} times`)
        if (downs) await waitFor(`node ${i} to say the store is back`, () => BACK.test(h.log.slice(logAt[i])), 10_000)
      }
      assert.ok(nodes.some((h, i) => (h.log.match(DOWN) ?? []).length > downBefore[i]), 'the outage was seen and logged')
      const back = (await Promise.all(backMs.map((p, i) => ((nodes[i].log.match(DOWN) ?? []).length > downBefore[i] ? p : undefined)))).filter((x) => x !== undefined)
      const let_ = nodes.map((h, i) => Number(BACK.exec(h.log.slice(logAt[i]))?.[1] ?? 0)).reduce((a, b) => a + b, 0)
      t.diagnostic(`failover ${failoverMs} ms; store back on the nodes ${back.join(', ')} ms after the kill; G2 counting correctly ${correctMs} ms after the kill; ${outcomes.length} sessions, all accepted, ${let_} store operations let through`)
    })
  })
}
