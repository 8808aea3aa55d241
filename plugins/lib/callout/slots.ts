// How many callouts may be open at once: slots per key (a server's
// host:port, a client), handed out first come first served, and one count of
// the callouts waiting for any of them, against [callout] max_queue.
import { atDeadline, tooLateToDial } from './deadline'

interface Waiter {
  deadline: number
  timer: NodeJS.Timeout
  grant: (release: Grant) => void
}

/** A release function, or why no slot was had: its deadline passed, or the process's queue was full. */
export type Grant = (() => void) | 'timeout' | 'queue full'

/** Callouts waiting for a slot, all keys of all Slots of one Callout together, against [callout] max_queue. */
export class WaitCount {
  n = 0
  constructor(readonly max: number) {}
}

/** Slots per key (a host:port, a client), handed out in FIFO order. */
export class Slots {
  private readonly held = new Map<string, number>()
  private readonly queues = new Map<string, Waiter[]>()
  total = 0

  constructor(private readonly max: number, private readonly waiting: WaitCount) {}

  /** A release function, or why there is none; never waits when the process's queue is full. */
  acquire(key: string, deadline: number): Promise<Grant> {
    if ((this.held.get(key) ?? 0) < this.max) return Promise.resolve(this.take(key))
    if (this.waiting.n >= this.waiting.max) return Promise.resolve('queue full')
    this.waiting.n++
    return new Promise((resolve) => {
      const queue = this.queues.get(key) ?? []
      this.queues.set(key, queue)
      const grant = (g: Grant): void => {
        this.waiting.n--
        resolve(g)
      }
      const waiter: Waiter = {
        deadline,
        grant,
        timer: atDeadline(deadline, () => {
          const i = queue.indexOf(waiter)
          if (i >= 0) queue.splice(i, 1)
          if (!queue.length) this.queues.delete(key)
          grant('timeout')
        }),
      }
      queue.push(waiter)
    })
  }

  private take(key: string): () => void {
    this.held.set(key, (this.held.get(key) ?? 0) + 1)
    this.total++
    let done = false
    return () => {
      if (done) return
      done = true
      this.total--
      const left = (this.held.get(key) ?? 1) - 1
      if (left > 0) this.held.set(key, left)
      else this.held.delete(key)
      this.next(key)
    }
  }

  private next(key: string): void {
    const queue = this.queues.get(key)
    while (queue?.length) {
      const waiter = queue.shift() as Waiter
      clearTimeout(waiter.timer)
      if (tooLateToDial(waiter.deadline)) {
        waiter.grant('timeout')
        continue
      }
      waiter.grant(this.take(key))
      break
    }
    if (!queue?.length) this.queues.delete(key)
  }
}
