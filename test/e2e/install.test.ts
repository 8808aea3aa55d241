// Install layouts an operator uses: a global install of Haraka with the
// package beside it (npm install -g), and no node_modules in the node.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Haraka, PLUGINS, ROOT, TARBALL, templateNode } from '../rig/haraka'
import { TestDns } from '../rig/dns-server'
import { SmtpClient } from '../rig/smtp-client'

test('global install: Haraka and the package side by side in one prefix', async (t) => {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-global-'))
  const dns = await TestDns.start({ records: { '*.18.198.in-addr.arpa': [{ type: 'PTR', data: 'client.test' }] } })
  t.after(async () => {
    await dns.stop()
    fs.rmSync(prefix, { recursive: true, force: true })
  })
  const harakaVersion = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies.Haraka as string
  execFileSync('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error',
    `Haraka@${harakaVersion}`, path.join(templateNode(), TARBALL)], { stdio: 'inherit' })
  const modules = path.join(prefix, 'lib', 'node_modules')
  assert.ok(fs.existsSync(path.join(modules, 'haraka-plugin-support-codes', 'connect', 'package.json')))

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-gnode-'))
  const h = await Haraka.start({ dns: dns.address, bin: path.join(modules, 'Haraka', 'bin', 'haraka'), linkModules: false, dir })
  t.after(async () => {
    await h.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  assert.equal(fs.existsSync(path.join(dir, 'node_modules')), false)
  for (const p of PLUGINS) assert.match(h.log, new RegExp(`loading ${p.replace('/', '\\/')}`))
  const c = await SmtpClient.connect({ port: h.port, proxyFrom: '198.18.0.7' })
  await c.ehlo('client.test')
  const r = await c.send('MAIL FROM:<>')
  assert.equal(r.text, '550 5.0.0 Sender is not allowed to send with empty mail_from')
  await c.quit()
})

test('installing the package puts no package named like a Haraka plugin in the node', () => {
  // Haraka looks up a plugin NAME in <node>/node_modules/NAME too: a
  // dependency called "redis" there would shadow haraka-plugin-redis for
  // plugins that inherit it (limit, karma, ...). The Redis client the bundle
  // uses is @redis/client for that reason.
  const modules = path.join(templateNode(), 'node_modules')
  for (const name of ['redis', 'spf', 'dns-list', 'limit', 'clamd', 'attachment']) {
    assert.equal(fs.existsSync(path.join(modules, name, 'package.json')), false, name)
  }
})
