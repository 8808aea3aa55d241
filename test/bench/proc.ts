// What the benchmark reads about a process from Linux's /proc, and the
// machine it runs on.
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'

/** Clock ticks per second of the utime/stime fields (getconf CLK_TCK). */
export function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    if (Number.isInteger(n) && n > 0) return n
  } catch {
    // getconf missing: Linux's USER_HZ is 100 on every common platform.
  }
  return 100
}

/** User plus system CPU time of a process so far, in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) is in parentheses and may hold spaces; the
  // fields after it start with field 3 (state). utime is 14, stime is 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(rest[14 - 3]) + Number(rest[15 - 3])
}

/** CPU time the whole machine spent busy so far (all cores, steal included), in clock ticks. */
export function machineBusyTicks(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal (guest time is in user)
  const [user, nice, system, , , irq, softirq, steal] = cpu
  return user + nice + system + (irq || 0) + (softirq || 0) + (steal || 0)
}

/** CPU time of this process and of the children it has waited for (the load generator runs), in clock ticks. */
export function selfTicks(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8')
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime 14, stime 15, cutime 16, cstime 17
  return [14, 15, 16, 17].reduce((sum, field) => sum + Number(rest[field - 3]), 0)
}

/** Peak resident set size of a process (VmHWM), in KiB. */
export function peakRssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Number(m[1])
}

export interface Machine {
  cpu: string
  cores: number
  memory: string
  kernel: string
  node: string
}

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) cpu = m[1].trim()
  } catch {
    // not Linux: keep what os.cpus() says
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  }
}

/** Which CPUs the benchmark puts Haraka on, and everything else. */
export interface Pinning {
  /** taskset CPU list for each Haraka process, or undefined (no pinning). */
  haraka?: string
  /** One line for the report. */
  about: string
}

/**
 * BENCH_PIN=1: with two or more CPUs and taskset, Haraka gets the last CPU to
 * itself and this process (the DNS server), the load generator and
 * redis-server the others. Off by default, as operators run Haraka: pinned,
 * Haraka's own helper threads (V8's garbage collection) share its one core.
 * Measured both ways (200 KB, five rounds), the ratios to bare moved within
 * the rounds' spread, neither way consistently higher.
 */
export function pinCpus(on: boolean): Pinning {
  const n = os.availableParallelism()
  if (!on) return { about: 'not pinned (BENCH_PIN=1 pins Haraka to a CPU of its own)' }
  if (n < 2) return { about: 'not pinned (one CPU)' }
  const others = n === 2 ? '0' : `0-${n - 2}`
  try {
    // -a: every thread of this process; children started from now on inherit it.
    execFileSync('taskset', ['-a', '-p', '-c', others, String(process.pid)], { stdio: 'ignore' })
  } catch {
    return { about: 'not pinned (taskset failed or is missing)' }
  }
  return { haraka: String(n - 1), about: `Haraka on CPU ${n - 1} alone; the load generator, the DNS server and redis-server on CPU ${others} (BENCH_PIN=1)` }
}
