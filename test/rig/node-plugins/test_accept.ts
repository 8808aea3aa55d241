// A plain Haraka plugin for the test node: accepts every recipient that the
// plugins before it let through, as a mailbox host would.
import constants from 'haraka-constants'

export function hook_rcpt(next: (code?: number) => void): void {
  next(constants.ok)
}
