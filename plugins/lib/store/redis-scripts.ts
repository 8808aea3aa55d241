// The Lua scripts of the Redis store. Each touches one key, or keys of one
// hash slot (store/keys.ts tags them), so each runs on Redis Cluster as it
// does on one Redis. Times are Redis's own (TIME), so that the nodes of a
// fleet agree on when a member expires whatever their clocks say.
import { createHash } from 'node:crypto'

export interface Script {
  text: string
  sha: string
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') }
}

// KEYS[1] key, ARGV[1] amount, ARGV[2] lifetime in seconds.
export const INCR = script(`local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return v`)

// Never below zero: a Redis restarted while connections were open must not
// leave negative counts behind.
export const DECR = script(`local v = redis.call('DECRBY', KEYS[1], ARGV[1])
if v <= 0 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return v`)

export const SET_IF_ABSENT = script(`local v = redis.call('GET', KEYS[1])
if v then redis.call('EXPIRE', KEYS[1], ARGV[2]) return v end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]`)

// Things open now (connections of a client) as a sorted set: one member per
// connection, scored by the time it stops counting unless its node renews it.
// Adding a member twice counts it once, so a retry or an add that landed
// after a client-side timeout never counts a connection twice; a node that
// dies stops renewing and its members lapse by themselves.
// KEYS[1] the set, ARGV[1] member, ARGV[2] lifetime in ms. Returns the
// members counted now, this one included.
export const JOIN = script(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])`)

// A node's renewal of its members still open in one set. KEYS[1] the set,
// ARGV[1] lifetime in ms, ARGV[2..] members. A member lost with a failed
// master is added again: its connection is still open.
export const RENEW = script(`local t = redis.call('TIME')
local until_ = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], until_, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1`)
