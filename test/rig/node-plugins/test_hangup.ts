// A plain Haraka plugin for the test node: another plugin that ends
// connections itself (DENYDISCONNECT), for clients that say HELO hangup.test.
import constants from 'haraka-constants'

export function hook_helo(next: (code?: number, msg?: string) => void, _connection: unknown, helo: string): void {
  if (helo === 'hangup.test') next(constants.denydisconnect, 'hanging up')
  else next()
}

export const hook_ehlo = hook_helo
