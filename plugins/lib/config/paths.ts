// Where the package is installed: compiled code runs from
// <package>/dist/plugins/lib/config, and the default ini files live in <package>/config.
import * as path from 'node:path'

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..', '..')
