// Type shapes for the Haraka packages used here that ship no types.
declare module 'haraka-constants' {
  const constants: {
    cont: number
    stop: number
    deny: number
    denysoft: number
    denydisconnect: number
    disconnect: number
    ok: number
    denysoftdisconnect: number
    translate(value: number): string
  }
  export = constants
}

declare module 'haraka-dsn' {
  class DSN {
    code: number
    reply: string
    static create(code: number, msg: string, subject?: number, detail?: number): DSN
  }
  export = DSN
}

declare module 'haraka-plugin-dns-list' {
  /** The DNS list query name for an IP: 4.3.2.1.zone. (IPv6: nibbles). */
  export function ipQuery(ip: string, zone: string): string
}
