// `npm start`: a demo Haraka node on 127.0.0.1:2525 with the four plugins
// and the package's embedded defaults, ready for swaks. The package is packed
// and installed into the node with npm, as an operator would; a DNS server on
// loopback answers the node's lookups so nothing leaves the machine.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Haraka, prepareTemplateNode } from './rig/haraka'
import { TestDns } from './rig/dns-server'

const PORT = Number(process.env.DEMO_PORT ?? 2525)

async function main(): Promise<void> {
  const base = path.join(os.tmpdir(), 'support-codes-demo')
  fs.rmSync(base, { recursive: true, force: true })
  fs.mkdirSync(base, { recursive: true })
  const template = prepareTemplateNode(path.join(base, 'install'))
  process.env.SC_TEMPLATE_NODE = template

  const dns = await TestDns.start({
    records: {
      // swaks on this machine connects from 127.0.0.1 (and G1F wants a PTR).
      '1.0.0.127.in-addr.arpa': [{ type: 'PTR', data: 'localhost' }],
      // RFC 5782 test entries, so the default DNS lists pass their self-test.
      '2.0.0.127.bl.score.senderscore.com': [{ type: 'A', data: '127.0.0.2' }],
      '2.0.0.127.xbl.spamhaus.org': [{ type: 'A', data: '127.0.0.4' }],
      'sender.example': [
        { type: 'MX', data: { preference: 10, exchange: 'mx.sender.example' } },
        { type: 'TXT', data: 'v=spf1 ip4:127.0.0.0/8 -all' },
      ],
      'mx.sender.example': [{ type: 'A', data: '127.0.0.1' }],
      'example.com': [{ type: 'MX', data: { preference: 10, exchange: 'mx.example.com' } }],
      'mx.example.com': [{ type: 'A', data: '127.0.0.1' }],
    },
  })
  const haraka = await Haraka.start({ dns: dns.address, port: PORT, dir: path.join(base, 'node'), proxy: false, replay: false })
  haraka.onOutput((text) => process.stdout.write(text))

  process.stdout.write(`
Demo Haraka node with haraka-plugin-support-codes on 127.0.0.1:${PORT}
  node folder: ${haraka.dir} (config/ holds the node's settings)
  accepted mail is written to ${path.join(haraka.dir, 'queue')}

Try it with swaks:
  swaks --server 127.0.0.1:${PORT} --from alice@sender.example --to bob@example.com
      -> 250, the message is queued
  swaks --server 127.0.0.1:${PORT} --from '<>' --to bob@example.com
      -> 550 5.0.0 Sender is not allowed to send with empty mail_from

Press Ctrl-C to stop.

`)
  let stopping = false
  const stop = async (): Promise<void> => {
    if (stopping) return
    stopping = true
    process.stdout.write('\nstopping the demo node\n')
    await haraka.stop()
    await dns.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())
  const code = await haraka.whenExited()
  if (!stopping) {
    process.stderr.write(`demo: Haraka exited with code ${code}\n`)
    await dns.stop()
    process.exit(1)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
