// docs/dashboard.json cannot drift from the metrics: every series its
// queries name is one BundleMetrics serves, and every label they select or
// group by is one of that series' labels.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { BundleMetrics } from '../../../plugins/lib/metrics/bundle-metrics'

const ROOT = path.join(__dirname, '..', '..', '..', '..')

interface Panel { title: string; targets: Array<{ expr: string }> }

function dashboard(): { schemaVersion: number; templating: { list: Array<{ name: string; type: string; query: string }> }; panels: Panel[] } {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'dashboard.json'), 'utf8')) as ReturnType<typeof dashboard>
}

/** Each series the registry serves, with the labels it carries, read from one exposition with every series recorded once. */
async function served(): Promise<Map<string, Set<string>>> {
  const m = new BundleMetrics()
  m.serve('test')
  m.reply('G34', 'mailfrom', 'refused')
  m.check('null_sender', 'pass')
  m.checkSeconds('data', 0.01)
  m.dependencyError('dns')
  m.scanThreadQueue(1)
  m.storeFailedOpen()
  const series = new Map<string, Set<string>>()
  for (const line of (await m.exposition()).text.split('\n')) {
    const match = /^(support_codes_\w+)(?:\{([^}]*)\})? /.exec(line)
    if (!match) continue
    const labels = series.get(match[1]) ?? new Set<string>()
    for (const pair of (match[2] ?? '').split(',').filter(Boolean)) labels.add(pair.slice(0, pair.indexOf('=')))
    series.set(match[1], labels)
  }
  return series
}

test('the dashboard: a recent schema, a Prometheus datasource variable, the panels the metrics page names', () => {
  const d = dashboard()
  assert.ok(d.schemaVersion >= 36)
  assert.deepEqual(d.templating.list.map((v) => [v.name, v.type, v.query]), [['datasource', 'datasource', 'prometheus']])
  assert.deepEqual(d.panels.map((p) => p.title), [
    'Refusals per code (per second)',
    'Deferrals per code (per second)',
    'Monitor mode: would refuse per code (per hour)',
    'Check results per check (per second)',
    'Check latency p50 / p99 per phase',
    'Dependency errors (per minute)',
    'Store fail-open (per minute)',
    'Scans waiting for the scan thread',
  ])
})

test('every series and label in the dashboard\'s queries is served', async () => {
  const series = await served()
  const used = new Set<string>()
  for (const panel of dashboard().panels) {
    for (const { expr } of panel.targets) {
      const names = [...expr.matchAll(/support_codes_\w+/g)].map((m) => m[0])
      assert.ok(names.length, `${panel.title}: no series`)
      for (const name of names) {
        used.add(name)
        assert.ok(series.has(name), `${panel.title}: ${name} is not served`)
        const labels = series.get(name) ?? new Set()
        const selected = [...expr.matchAll(new RegExp(`${name}\\{([^}]*)\\}`, 'g'))].flatMap((m) => m[1].split(',').map((p) => p.trim().split(/[=!~]/)[0]))
        for (const label of selected) assert.ok(labels.has(label), `${panel.title}: ${name} has no label ${label}`)
      }
      // what is grouped by is a label of the series in the query (le: a histogram's buckets)
      const grouped = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()))
      for (const label of grouped) assert.ok(names.some((n) => series.get(n)?.has(label)), `${panel.title}: no series of ${names.join(', ')} has label ${label}`)
    }
  }
  // every series the bundle serves is on the dashboard (a histogram through its buckets)
  assert.deepEqual([...series.keys()].filter((n) => !n.endsWith('_sum') && !n.endsWith('_count') && !used.has(n)), [])
})
