// The benchmark's case sets in the report: the realistic case's targets and
// the metrics case's cost, (bundle - bundle-metrics) / bare per round.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CaseResult, metricsCosts, metricsLines, sharesText, targetLines } from '../../bench/report'

function result(scenario: string, rates: number[], concurrency = 10, size = 2048): CaseResult {
  const sorted = [...rates].sort((a, b) => a - b)
  return {
    scenario, size, concurrency, messages: 100, ok: true,
    rate: sorted[(sorted.length - 1) >> 1], rates, cpus: rates.map(() => 1),
    cpuMsPerMsg: 1, cpuPercent: 100, otherCpuPercent: 0, dnsPerMsg: 0, peakRssMiB: 100,
  }
}

test('metricsCosts: per round, what metrics on lose against off, over bare of the same round', () => {
  const results = [result('bare', [1000, 500, 1000]), result('bundle', [800, 400, 810]), result('bundle-metrics', [790, 395, 780])]
  const costs = metricsCosts(results, 2048, 10)
  assert.deepEqual(costs?.map((x) => x.toFixed(3)), ['0.010', '0.010', '0.030'])
})

test('metricsLines: the median cost, the rounds, and the 0.02 target', () => {
  const results = [
    result('bare', [1000, 500, 1000], 1), result('bundle', [800, 400, 810], 1), result('bundle-metrics', [790, 395, 780], 1),
    result('bare', [1000, 1000, 1000], 10), result('bundle', [800, 800, 800], 10), result('bundle-metrics', [770, 760, 790], 10),
  ]
  assert.deepEqual(metricsLines(results), [
    'metrics on costs 0.010 of bare at 2 KB, 1 sessions (rounds 0.010 to 0.030); at most 0.02: met',
    'metrics on costs 0.030 of bare at 2 KB, 10 sessions (rounds 0.010 to 0.040); at most 0.02: NOT met',
  ])
})

test('metricsLines: a failed scenario leaves the cost not measured', () => {
  const results = [result('bare', [1000, 1000]), result('bundle', [800, 800]), { ...result('bundle-metrics', [790, 790]), ok: false }]
  assert.equal(metricsCosts(results, 2048, 10), undefined)
  assert.deepEqual(metricsLines(results), ['metrics on at 2 KB, 10 sessions: not measured (a scenario failed or ran one round)'])
})

test('targetLines: the realistic case is held to 0.85 at 2 KB and 0.80 at 200 KB', () => {
  const results = [
    result('bare', [100, 100, 100], 10), result('bundle', [86, 85, 90], 10),
    result('bare', [100, 100, 100], 10, 204800), result('bundle', [79, 78, 75], 10, 204800),
  ]
  assert.deepEqual(targetLines(results, 'realistic'), [
    'bundle / bare at 2 KB, at least 0.85: 10 sessions 0.86 met',
    'bundle / bare at 200 KB, at least 0.80: 10 sessions 0.78 NOT met',
  ])
  // The standard case's own targets are not the realistic ones.
  assert.deepEqual(targetLines(results, 'standard'), [
    'bundle / bare at 2 KB, at least 0.90: 10 sessions 0.86 NOT met',
    'bundle / bare at 200 KB, at least 0.75: 10 sessions 0.78 met',
  ])
})

test('sharesText: accepted / refused / deferred in percent', () => {
  assert.equal(sharesText({ accepted: 0.861, refused: 0.0957, deferred: 0.0433 }), '86.1 % / 9.6 % / 4.3 %')
})
