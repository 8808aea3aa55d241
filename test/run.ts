// `npm test` after lint and build: packs the package into a fresh Haraka
// node once, then runs every test file (unit, rig and end to end) with
// Node's test runner. The servers each test needs are started by the test.
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { prepareTemplateNode, ROOT } from './rig/haraka'

function main(): number {
  const template = prepareTemplateNode()
  const only = process.argv.slice(2)
  const files = only.length ? only : ['dist/test/**/*.test.js']
  process.stderr.write(`test: running ${files.join(' ')}\n`)
  const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
    cwd: ROOT,
    env: { ...process.env, SC_TEMPLATE_NODE: template },
    stdio: 'inherit',
  })
  fs.rmSync(template, { recursive: true, force: true })
  if (res.error) throw res.error
  return res.status ?? 1
}

process.exitCode = main()
