// The folder tree is the architecture: plugins/lib holds folders only, each
// with an index.ts that says what it may import, and no file imports a
// folder its index does not name.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'

const LIB = path.resolve(__dirname, '..', '..', '..', 'plugins', 'lib')
const IMPORT = /(?:from|import|require)\s*\(?\s*'(\.{1,2}\/[^']*)'/g

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return e.name.endsWith('.ts') ? [p] : []
  })
}

function allowed(folder: string): Set<string> {
  const index = fs.readFileSync(path.join(LIB, folder, 'index.ts'), 'utf8')
  const m = /^\/\/ May import: (.*)\.$/m.exec(index)
  assert.ok(m, `${folder}/index.ts says what it may import`)
  return new Set(m[1] === 'nothing else in plugins/lib' ? [] : m[1].split(', '))
}

test('plugins/lib holds folders only, each with an index.ts naming what it holds and may import', () => {
  const entries = fs.readdirSync(LIB, { withFileTypes: true })
  assert.deepEqual(entries.filter((e) => !e.isDirectory()).map((e) => e.name), [])
  for (const e of entries) {
    const index = fs.readFileSync(path.join(LIB, e.name, 'index.ts'), 'utf8')
    assert.match(index, new RegExp(`^// ${e.name}/: \\S`), `${e.name}/index.ts opens with what the folder holds`)
    allowed(e.name)
  }
})

test('no file imports a folder its index does not allow', () => {
  const wrong: string[] = []
  for (const folder of fs.readdirSync(LIB)) {
    const may = allowed(folder)
    for (const file of sources(path.join(LIB, folder))) {
      const text = fs.readFileSync(file, 'utf8')
      for (const m of text.matchAll(IMPORT)) {
        const target = path.relative(LIB, path.resolve(path.dirname(file), m[1]))
        const to = target.split(path.sep)[0]
        if (target.startsWith('..')) wrong.push(`${path.relative(LIB, file)} imports ${m[1]}, outside plugins/lib`)
        else if (to !== folder && !may.has(to)) wrong.push(`${path.relative(LIB, file)} imports ${to}/ (${m[1]})`)
      }
    }
  }
  assert.deepEqual(wrong, [])
})
