// End to end: the package installed by npm into a real Haraka, driven by a
// real SMTP client presenting a public test address through PROXY, with every
// resolver in Haraka pointed at the test DNS server.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Haraka, HarakaOptions, PLUGINS } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient, message, sendMail } from '../rig/smtp-client'
import { waitFor } from '../rig/wait'

const G34 = '550 5.0.0 Sender is not allowed to send with empty mail_from'
const CLIENT = '198.18.0.7'

let dns: TestDns

before(async () => {
  dns = await TestDns.start({
    records: {
      '7.0.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.sender.example' }],
      'client.sender.example': [{ type: 'A', data: CLIENT }],
      // Every test client has a PTR record here (G1F is tested elsewhere).
      '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.sender.example' }],
      '*.8.b.d.0.1.0.0.2.ip6.arpa': [{ type: 'PTR', data: 'client.sender.example' }],
      'sender.example': [{ type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } }],
      'mx.sender.example': [{ type: 'A', data: '198.18.1.1' }],
    },
  })
})
after(async () => { await dns.stop() })

async function node(opts: HarakaOptions = {}): Promise<Haraka> {
  return Haraka.start({ dns: dns.address, ...opts })
}

async function mailFrom(h: Haraka, from: string, proxyFrom = CLIENT): Promise<{ client: SmtpClient; line: string }> {
  const client = await SmtpClient.connect({ port: h.port, proxyFrom })
  await client.ehlo('client.sender.example')
  const reply = await client.send(`MAIL FROM:${from}`)
  return { client, line: reply.lines.join('\n') }
}

describe('the four plugins in one node', () => {
  let h: Haraka
  before(async () => { h = await node() })
  after(async () => { await h.stop() })

  test('a clean message is accepted with 250 and queued', async () => {
    const res = await sendMail({
      port: h.port, proxyFrom: CLIENT, helo: 'client.sender.example',
      from: 'alice@sender.example', to: ['bob@example.com'],
      message: message({ from: 'alice@sender.example', to: 'bob@example.com', subject: 'clean' }),
    })
    assert.match(res.greeting.text, /^220 /)
    assert.ok(res.ehlo.lines.includes('250-ENHANCEDSTATUSCODES') || res.ehlo.lines.includes('250 ENHANCEDSTATUSCODES'), res.ehlo.text)
    assert.equal(res.ehlo.lines.filter((l) => l.endsWith('ENHANCEDSTATUSCODES')).length, 1)
    assert.equal(res.mail.code, 250)
    assert.equal(res.rcpts[0].code, 250)
    assert.equal(res.data?.code, 250, res.data?.text)
    assert.equal(h.queued().length, 1)
    assert.match(h.queued()[0], /Subject: clean/)
    for (const p of PLUGINS) assert.match(h.log, new RegExp(`loaded .*${p}|${p}`))
  })

  test('G34: MAIL FROM:<> gets the exact line, and the session goes on', async () => {
    const { client, line } = await mailFrom(h, '<>')
    assert.equal(line, G34)
    assert.ok(client.raw.includes(`\r\n${G34}\r\n`), 'exact bytes on the wire')
    const again = await client.send('MAIL FROM:<alice@sender.example>')
    assert.equal(again.code, 250)
    await client.quit()
    await h.waitForLog(/\[support-codes\/mailfrom\] .*fail:G34/)
    await h.waitForLog(/null_sender: sent "550 5\.0\.0 Sender is not allowed to send with empty mail_from" \(MAIL FROM:<>\) \[G34 #\d+\]/)
  })

  test('G34 for an IPv6 client', async () => {
    const { client, line } = await mailFrom(h, '<>', '2001:db8::25')
    assert.equal(line, G34)
    client.close()
  })
})

describe('settings', () => {
  test('[null_sender] reject=false accepts the null sender', async (t) => {
    const h = await node({ config: { 'support-codes-mailfrom.ini': '[null_sender]\nreject=false\n' } })
    t.after(() => h.stop())
    const { client, line } = await mailFrom(h, '<>')
    assert.equal(line, '250 sender <> OK')
    client.close()
  })

  test('tag_all appends the support code', async (t) => {
    const h = await node({ config: { 'support-codes.ini': '[main]\ntag_all=true\n' } })
    t.after(() => h.stop())
    const { client, line } = await mailFrom(h, '<>')
    assert.equal(line, `${G34} (G34)`)
    client.close()
  })

  test('global monitor mode logs and records the code, and accepts', async (t) => {
    const h = await node({ config: { 'support-codes.ini': '[main]\nmonitor=true\n' } })
    t.after(() => h.stop())
    const { client, line } = await mailFrom(h, '<>')
    assert.equal(line, '250 sender <> OK')
    client.close()
    await h.waitForLog(/monitor: null_sender would send "550 5\.0\.0 Sender is not allowed to send with empty mail_from" \(MAIL FROM:<>\); accepted \[G34 #1\]/)
    await h.waitForLog(/\[support-codes\/mailfrom\] .*msg:monitor null_sender: 550 5\.0\.0 Sender is not allowed/)
  })

  test('a check\'s own monitor key wins over [main]', async (t) => {
    const h = await node({
      config: {
        'support-codes.ini': '[main]\nmonitor=true\n',
        'support-codes-mailfrom.ini': '[null_sender]\nmonitor=false\n',
      },
    })
    t.after(() => h.stop())
    const { client, line } = await mailFrom(h, '<>')
    assert.equal(line, G34)
    client.close()

    const h2 = await node({ config: { 'support-codes-mailfrom.ini': '[null_sender]\nmonitor=true\n' } })
    t.after(() => h2.stop())
    const r2 = await mailFrom(h2, '<>')
    assert.equal(r2.line, '250 sender <> OK')
    r2.client.close()
  })

  test('a change to the node\'s ini is picked up without a restart', async (t) => {
    // haraka-config reloads a changed file about 5 s after the change.
    const h = await node({ config: { 'support-codes-mailfrom.ini': '[null_sender]\nreject=true\n' } })
    t.after(() => h.stop())
    const lineNow = async (): Promise<string> => {
      const r = await mailFrom(h, '<>')
      r.client.close()
      return r.line
    }
    const until = async (want: string): Promise<string> => {
      let line = ''
      await waitFor(`the reply "${want}"`, async () => (line = await lineNow()) === want, 15000, 250)
      return line
    }
    assert.equal(await lineNow(), G34)
    // An edited file.
    h.writeConfig('support-codes-mailfrom.ini', '[null_sender]\nreject=false\n')
    assert.equal(await until('250 sender <> OK'), '250 sender <> OK')
    // A file the node did not have at start, and a second edit.
    h.writeConfig('support-codes.ini', '[main]\ntag_all=true\n')
    h.writeConfig('support-codes-mailfrom.ini', '[null_sender]\nreject=true\n')
    assert.equal(await until(`${G34} (G34)`), `${G34} (G34)`)
    assert.match(h.log, /reloaded support-codes\.ini, support-codes-mailfrom\.ini and redis\.ini/)
    assert.equal(h.running, true)
  })

  test('a bad value is named once in the log and the default kept', async (t) => {
    const h = await node({ config: { 'support-codes-mailfrom.ini': '[null_sender]\nreject=maybe\n', 'support-codes.ini': '[main]\nallow=198.18.0.0/33, not-an-ip\n' } })
    t.after(() => h.stop())
    for (let i = 0; i < 2; i++) {
      const { client, line } = await mailFrom(h, '<>')
      assert.equal(line, G34)
      client.close()
    }
    const named = h.log.match(/support-codes-mailfrom\.ini \[null_sender\] reject=maybe is not true or false; using true/g) ?? []
    assert.equal(named.length, 1, h.log)
    assert.match(h.log, /\[main\] allow: "198\.18\.0\.0\/33" is not an IP address or CIDR; ignored/)
    assert.match(h.log, /\[main\] allow: "not-an-ip" is not an IP address or CIDR; ignored/)
    assert.equal(h.running, true)
  })
})

describe('clients that skip every check', () => {
  test('the allow list (IPv4 and IPv6 CIDRs)', async (t) => {
    const h = await node({ config: { 'support-codes.ini': '[main]\nallow=198.18.5.0/24,2001:db8:5::/48\n' } })
    t.after(() => h.stop())
    for (const ip of ['198.18.5.9', '2001:db8:5::9']) {
      const { client, line } = await mailFrom(h, '<>', ip)
      assert.equal(line, '250 sender <> OK', ip)
      client.close()
    }
    const { client, line } = await mailFrom(h, '<>', '198.18.6.9')
    assert.equal(line, G34)
    client.close()
    await h.waitForLog(/\[support-codes\/mailfrom\] .*skip:allow list/)
  })

  test('relaying clients (Haraka relay plugin ACL)', async (t) => {
    const h = await node({
      plugins: ['relay', ...PLUGINS],
      config: { 'relay.ini': '[relay]\nacl=true\n', 'relay_acl_allow': '198.18.9.0/24\n' },
    })
    t.after(() => h.stop())
    const relayed = await mailFrom(h, '<>', '198.18.9.1')
    assert.equal(relayed.line, '250 sender <> OK')
    relayed.client.close()
    const other = await mailFrom(h, '<>', '198.18.8.1')
    assert.equal(other.line, G34)
    other.client.close()
  })
})

describe('each plugin loads alone', () => {
  for (const plugin of PLUGINS) {
    test(plugin, async (t) => {
      const h = await node({ plugins: [plugin] })
      t.after(() => h.stop())
      const res = await sendMail({
        port: h.port, proxyFrom: CLIENT, helo: 'client.sender.example',
        from: 'alice@sender.example', to: ['bob@example.com'],
        message: message({ from: 'alice@sender.example', to: 'bob@example.com' }),
      })
      assert.equal(res.data?.code, 250)
      assert.ok(res.ehlo.lines.some((l) => l.endsWith('ENHANCEDSTATUSCODES')))
      assert.doesNotMatch(h.log, /failed to load|compiling .* failed/i)
      assert.match(h.log, new RegExp(`${plugin.replace('/', '\\/')}`))
    })
  }
})
