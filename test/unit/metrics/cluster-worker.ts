// A cluster worker for cluster.test.ts: records the refusals it is told to,
// then scrapes as Haraka's HTTP route in a worker would (asking the master).
import { BundleMetrics } from '../../../plugins/lib/metrics/bundle-metrics'

const metrics = new BundleMetrics()
metrics.serve('test')

process.on('message', (m: { refuse?: number; scrape?: boolean }) => {
  if (m.refuse !== undefined) {
    for (let i = 0; i < m.refuse; i++) metrics.reply('G34', 'mailfrom', 'refused')
    process.send?.({ refused: m.refuse })
  }
  if (m.scrape) {
    metrics.scrape().then(
      (e) => process.send?.({ scraped: e.text }),
      (err: Error) => process.send?.({ scraped: `error: ${err.message}` }),
    )
  }
})
process.send?.({ up: true })
