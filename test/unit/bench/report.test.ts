// The benchmark's ratio to bare: paired by round, and the targets line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CaseResult, pairedRatios, ratio, targetLines } from '../../bench/report'

function result(scenario: string, size: number, rates: number[], concurrency = 1): CaseResult {
  const sorted = [...rates].sort((a, b) => a - b)
  return {
    scenario, size, concurrency, messages: 100, ok: true,
    rate: sorted[(sorted.length - 1) >> 1], rates, cpus: rates.map(() => 1),
    cpuMsPerMsg: 1, cpuPercent: 100, otherCpuPercent: 0, dnsPerMsg: 0, peakRssMiB: 100,
  }
}

test('ratio: the median of the per-round ratios, so a slow round counts against both', () => {
  // Round 2 ran on a machine half as fast, for both scenarios alike.
  const bare = result('bare', 2048, [1000, 500, 1000])
  const bundle = result('bundle', 2048, [900, 450, 880])
  const results = [bare, bundle]
  assert.deepEqual(pairedRatios(results, bundle), [0.9, 0.9, 0.88])
  assert.equal(ratio(results, bundle), 0.9)
  // The ratio of the medians would have said 880 / 1000.
  assert.equal(bundle.rate / bare.rate, 0.88)
})

test('ratio: an even number of rounds takes the mean of the middle two', () => {
  const results = [result('bare', 2048, [100, 100, 100, 100]), result('bundle', 2048, [70, 80, 90, 100])]
  assert.ok(Math.abs((ratio(results, results[1]) ?? 0) - 0.85) < 1e-9)
})

test('ratio: rounds that do not pair up (a scenario failed midway) fall back to the medians', () => {
  const results = [result('bare', 2048, [100, 200, 300]), result('bundle', 2048, [100, 150])]
  assert.equal(pairedRatios(results, results[1]), undefined)
  assert.equal(ratio(results, results[1]), 100 / 200)
})

test('ratio: none for the baseline itself, a failed case or a case without a baseline', () => {
  const bare = result('bare', 2048, [100, 100])
  const failed = { ...result('bundle', 2048, [90, 90]), ok: false }
  const other = result('bundle', 204800, [90, 90])
  const results = [bare, failed, other]
  assert.equal(ratio(results, bare), undefined)
  assert.equal(ratio(results, failed), undefined)
  assert.equal(ratio(results, other), undefined)
})

test('targetLines: each session count marked met or NOT met', () => {
  const results = [
    result('bare', 2048, [100, 100, 100], 1), result('bundle', 2048, [95, 91, 90], 1),
    result('bare', 2048, [100, 100, 100], 10), result('bundle', 2048, [80, 85, 70], 10),
  ]
  assert.deepEqual(targetLines(results), ['bundle / bare at 2 KB, at least 0.90: 1 sessions 0.91 met, 10 sessions 0.80 NOT met'])
})
