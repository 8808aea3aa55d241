// Checks the private clamd and redis-server the end-to-end tests rely on:
// they start, answer, detect EICAR where mail carries it, survive kill and
// restart, and leave no process behind.
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as assert from 'node:assert/strict'
import * as zlib from 'node:zlib'
import { Clamd, EICAR, EICAR_VIRUS } from './clamd'
import { Redis } from './redis'
import { waitFor } from './wait'

const FOUND = `stream: ${EICAR_VIRUS} FOUND`

// A zombie (killed, not yet reaped by whoever inherited it) counts as gone.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

// Servers of a process that just died are killed by its exit hook; the
// kernel finishes them a moment later.
async function gone(pid: number): Promise<void> {
  await waitFor(`server process ${pid} to be gone`, () => !alive(pid))
}

// A minimal zip writer (stored entries, no compression) so the tests need
// neither the zip command nor an npm package.
function zip(entries: Record<string, Buffer | string>): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, content] of Object.entries(entries)) {
    const data = Buffer.from(content)
    const fname = Buffer.from(name)
    const crc = zlib.crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4) // version needed
    local.writeUInt16LE(0, 6) // flags
    local.writeUInt16LE(0, 8) // method: stored
    local.writeUInt16LE(0, 10) // time
    local.writeUInt16LE(0x21, 12) // date: 1980-01-01
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(fname.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4) // version made by
    central.writeUInt16LE(20, 6) // version needed
    central.writeUInt16LE(0, 8)
    central.writeUInt16LE(0, 10)
    central.writeUInt16LE(0, 12)
    central.writeUInt16LE(0x21, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(fname.length, 28)
    // extra, comment, disk, internal and external attributes stay 0
    central.writeUInt32LE(offset, 42)
    locals.push(local, fname, data)
    centrals.push(central, fname)
    offset += local.length + fname.length + data.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(Object.keys(entries).length, 8)
  end.writeUInt16LE(Object.keys(entries).length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
}

// A multipart/mixed message with a text part and one base64 attachment.
function mimeMessage(filename: string, attachment: Buffer): Buffer {
  return Buffer.from(
    [
      'From: sender@example.com',
      'To: rcpt@example.net',
      'Subject: attachment',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="rig-boundary"',
      '',
      '--rig-boundary',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'See the attachment.',
      '--rig-boundary',
      `Content-Type: application/octet-stream; name="${filename}"`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment; filename="${filename}"`,
      '',
      base64Lines(attachment),
      '--rig-boundary--',
      '',
    ].join('\r\n'),
  )
}

describe('zip writer', () => {
  it('writes archives unzip accepts', { skip: !fs.existsSync('/usr/bin/unzip') }, async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rig-zip-')), 't.zip')
    try {
      fs.writeFileSync(file, zip({ 'a.txt': 'hello', 'b.bin': Buffer.from([0, 1, 2]) }))
      const rc = await new Promise<number | null>((resolve) =>
        spawn('/usr/bin/unzip', ['-tq', file], { stdio: 'ignore' }).on('exit', resolve),
      )
      assert.equal(rc, 0)
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true })
    }
  })
})

describe('clamd on a unix socket', () => {
  let clamd: Clamd
  before(async () => {
    const t0 = performance.now()
    clamd = await Clamd.start()
    console.log(`# clamd (unix) up in ${Math.round(performance.now() - t0)} ms`)
  })
  after(() => clamd?.stop())

  it('listens on a socket in its own temp dir and answers PING', async () => {
    assert.ok(path.isAbsolute(clamd.socket))
    assert.ok(fs.statSync(clamd.socket).isSocket())
    assert.ok(!clamd.socket.startsWith('/run/') && !clamd.socket.startsWith('/var/'))
    assert.ok(alive(clamd.pid))
    assert.equal(await clamd.ping(), true)
  })

  it('EICAR is exactly the 68-byte test file', () => {
    assert.equal(Buffer.byteLength(EICAR, 'latin1'), 68)
    assert.ok(EICAR.startsWith('X5O!P%@AP[4\\PZX54(P^)7CC)7}$'))
  })

  it('finds EICAR raw', async () => {
    assert.equal(await clamd.scan(Buffer.from(EICAR)), FOUND)
  })

  it('finds EICAR followed by a line ending', async () => {
    assert.equal(await clamd.scan(Buffer.from(EICAR + '\r\n')), FOUND)
  })

  it('finds EICAR inside a zip', async () => {
    assert.equal(await clamd.scan(zip({ 'readme.txt': 'clean', 'eicar.com': EICAR })), FOUND)
  })

  it('finds EICAR inside a zip inside a zip', async () => {
    const inner = zip({ 'eicar.com': EICAR })
    assert.equal(await clamd.scan(zip({ 'inner.zip': inner })), FOUND)
  })

  it('finds EICAR in a base64 MIME attachment', async () => {
    assert.equal(await clamd.scan(mimeMessage('eicar.com', Buffer.from(EICAR))), FOUND)
  })

  it('finds EICAR in a zipped base64 MIME attachment', async () => {
    assert.equal(await clamd.scan(mimeMessage('eicar.zip', zip({ 'eicar.com': EICAR }))), FOUND)
  })

  it('finds EICAR in a plain-text mail body', async () => {
    const msg = `From: a@example.com\r\nTo: b@example.net\r\nSubject: test\r\n\r\nhello\r\n${EICAR}\r\n`
    assert.equal(await clamd.scan(Buffer.from(msg)), FOUND)
  })

  it('passes clean data', async () => {
    assert.equal(await clamd.scan(Buffer.from('hello, world\r\n')), 'stream: OK')
    assert.equal(await clamd.scan(zip({ 'a.txt': 'clean' })), 'stream: OK')
    assert.equal(await clamd.scan(mimeMessage('a.bin', Buffer.from('clean bytes'))), 'stream: OK')
    assert.equal(await clamd.scan(Buffer.alloc(0)), 'stream: OK')
  })

  it('streams data larger than one chunk', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'a')
    assert.equal(await clamd.scan(big), 'stream: OK')
    assert.equal(await clamd.scan(Buffer.concat([big, Buffer.from(EICAR)])), FOUND)
  })

  it('comes back on the same socket after kill and restart', async () => {
    const oldPid = clamd.pid
    await clamd.kill()
    assert.equal(alive(oldPid), false)
    assert.equal(await clamd.ping(), false)
    await assert.rejects(clamd.scan(Buffer.from(EICAR)))
    const t0 = performance.now()
    await clamd.restart()
    console.log(`# clamd (unix) restarted in ${Math.round(performance.now() - t0)} ms`)
    assert.notEqual(clamd.pid, oldPid)
    assert.ok(alive(clamd.pid))
    assert.equal(await clamd.ping(), true)
    assert.equal(await clamd.scan(Buffer.from(EICAR)), FOUND)
  })

  it('restarts while running', async () => {
    const oldPid = clamd.pid
    await clamd.restart()
    assert.equal(alive(oldPid), false)
    assert.equal(await clamd.ping(), true)
  })
})

describe('clamd on TCP', () => {
  let clamd: Clamd
  before(async () => {
    const t0 = performance.now()
    clamd = await Clamd.start({ tcp: true })
    console.log(`# clamd (tcp) up in ${Math.round(performance.now() - t0)} ms`)
  })
  after(() => clamd?.stop())

  it('listens on 127.0.0.1:port and scans', async () => {
    assert.match(clamd.socket, /^127\.0\.0\.1:\d+$/)
    assert.equal(await clamd.ping(), true)
    assert.equal(await clamd.scan(Buffer.from(EICAR)), FOUND)
    assert.equal(await clamd.scan(Buffer.from('clean')), 'stream: OK')
  })

  it('comes back on the same port after kill and restart', async () => {
    const socket = clamd.socket
    await clamd.kill()
    assert.equal(await clamd.ping(), false)
    await clamd.restart()
    assert.equal(clamd.socket, socket)
    assert.equal(await clamd.scan(Buffer.from(EICAR)), FOUND)
  })
})

describe('clamd stop', () => {
  it('leaves no process and no temp dir', async () => {
    const clamd = await Clamd.start()
    const pid = clamd.pid
    const dir = path.dirname(clamd.socket)
    await clamd.stop()
    assert.equal(alive(pid), false)
    assert.equal(fs.existsSync(dir), false)
  })
})

describe('redis-server', () => {
  let redis: Redis
  before(async () => {
    const t0 = performance.now()
    redis = await Redis.start()
    console.log(`# redis-server up in ${Math.round(performance.now() - t0)} ms`)
  })
  after(() => redis?.stop())

  it('listens on loopback and answers PING', async () => {
    assert.equal(redis.host, '127.0.0.1')
    assert.ok(redis.port > 0 && redis.port !== 6379)
    assert.ok(alive(redis.pid))
    assert.equal(await redis.command('PING'), 'PONG')
  })

  it('round-trips INCR, GET, TTL, KEYS and FLUSHALL', async () => {
    assert.equal(await redis.command('INCR', 'rig:count'), 1)
    assert.equal(await redis.command('INCR', 'rig:count'), 2)
    assert.equal(await redis.command('GET', 'rig:count'), '2')
    assert.equal(await redis.command('TTL', 'rig:count'), -1)
    assert.equal(await redis.command('EXPIRE', 'rig:count', '60'), 1)
    const ttl = await redis.command('TTL', 'rig:count')
    assert.ok(typeof ttl === 'number' && ttl > 55 && ttl <= 60, `TTL ${ttl}`)
    assert.equal(await redis.command('SET', 'rig:s', 'a b\r\nc', 'EX', '30'), 'OK')
    assert.equal(await redis.command('GET', 'rig:s'), 'a b\r\nc')
    assert.deepEqual(((await redis.command('KEYS', 'rig:*')) as string[]).sort(), ['rig:count', 'rig:s'])
    assert.equal(await redis.command('GET', 'rig:missing'), null)
    assert.equal(await redis.command('TTL', 'rig:missing'), -2)
    assert.equal(await redis.command('FLUSHALL'), 'OK')
    assert.deepEqual(await redis.command('KEYS', '*'), [])
  })

  it('rejects on an error reply', async () => {
    await redis.command('SET', 'rig:s', 'x')
    await assert.rejects(redis.command('INCR', 'rig:s'), /not an integer/)
    await assert.rejects(redis.command('NOSUCHCOMMAND'), /unknown command/)
  })

  it('comes back on the same port, empty, after kill and restart', async () => {
    await redis.command('SET', 'rig:k', 'v')
    const { port, pid } = redis
    await redis.kill()
    assert.equal(alive(pid), false)
    await assert.rejects(redis.command('PING'))
    const t0 = performance.now()
    await redis.restart()
    console.log(`# redis-server restarted in ${Math.round(performance.now() - t0)} ms`)
    assert.equal(redis.port, port)
    assert.notEqual(redis.pid, pid)
    assert.equal(await redis.command('GET', 'rig:k'), null)
  })
})

describe('redis-server stop', () => {
  it('starts on a given port and leaves no process', async () => {
    const first = await Redis.start()
    const port = first.port
    await first.stop()
    const redis = await Redis.start({ port })
    assert.equal(redis.port, port)
    assert.equal(await redis.command('PING'), 'PONG')
    const pid = redis.pid
    await redis.stop()
    assert.equal(alive(pid), false)
    await assert.rejects(redis.command('PING'))
  })
})

// A test process that dies must take its servers with it.
describe('servers of a dying process', () => {
  // Runs a process that starts both servers, prints their pids, then ends the
  // way `how` says; resolves with the pids once it has gone.
  async function orphanCheck(how: string, signal?: NodeJS.Signals): Promise<number[]> {
    const script = `
      const { Clamd } = require(${JSON.stringify(path.join(__dirname, 'clamd.js'))})
      const { Redis } = require(${JSON.stringify(path.join(__dirname, 'redis.js'))})
      ;(async () => {
        const c = await Clamd.start()
        const r = await Redis.start()
        console.log(JSON.stringify([c.pid, r.pid, c.socket]))
        ${how}
      })()
    `
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (signal && !child.killed && out.includes('\n')) child.kill(signal)
    })
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const died = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)))
    // The exit hook must not swallow the signal: the process still dies by it.
    if (signal) assert.equal(died, signal)
    const line = out.split('\n')[0]
    assert.ok(line, `no output; stderr:\n${err}`)
    const [clamdPid, redisPid, socket] = JSON.parse(line) as [number, number, string]
    assert.equal(fs.existsSync(path.dirname(socket)), false, 'clamd temp dir left behind')
    return [clamdPid, redisPid]
  }

  it('an uncaught exception', async () => {
    for (const pid of await orphanCheck("throw new Error('boom')")) await gone(pid)
  })

  it('process.exit()', async () => {
    for (const pid of await orphanCheck('process.exit(3)')) await gone(pid)
  })

  it('SIGTERM', async () => {
    for (const pid of await orphanCheck('setInterval(() => {}, 1000)', 'SIGTERM')) await gone(pid)
  })

  it('just ending without stop()', async () => {
    for (const pid of await orphanCheck('')) await gone(pid)
  })
})
