// Build the browser app into dist/ (deterministic: same sources + lock file → same bytes).
//   node build.mjs            build into dist/
//   node build.mjs --check    build into a temp dir and compare with the committed dist/
//   node build.mjs --size     build, then print raw and gzipped sizes
import * as esbuild from 'esbuild'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, rmSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, 'dist')

async function build (out) {
  mkdirSync(out, { recursive: true })
  for (const f of readdirSync(out)) rmSync(join(out, f), { recursive: true })
  const common = { bundle: true, minify: true, write: false, logLevel: 'warning', legalComments: 'none', charset: 'utf8' }
  const js = await esbuild.build({ ...common, entryPoints: [join(here, 'src/main.js')], format: 'esm', target: ['es2020'], outfile: join(out, 'app.js') })
  const css = await esbuild.build({ ...common, entryPoints: [join(here, 'src/app.css')], target: ['chrome80', 'firefox78', 'safari14'], outfile: join(out, 'app.css') })
  const sw = await esbuild.build({ ...common, bundle: false, entryPoints: [join(here, 'src/sw.js')], target: ['es2020'], outfile: join(out, 'sw.js') })
  const files = { 'app.js': js.outputFiles[0].contents, 'app.css': css.outputFiles[0].contents, 'sw.js': sw.outputFiles[0].contents }
  const hash = (b) => createHash('sha256').update(b).digest('hex').slice(0, 10)
  files['index.html'] = Buffer.from(readFileSync(join(here, 'src/index.html'), 'utf8')
    .replace('__HASH_JS__', hash(files['app.js'])).replace('__HASH_CSS__', hash(files['app.css'])))
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(out, name), bytes)
  return files
}

const arg = process.argv[2]
if (arg === '--check') {
  const tmp = mkdtempSync(join(tmpdir(), 'palabre-dist-'))
  try {
    const fresh = await build(tmp)
    const committed = readdirSync(dist).sort()
    const names = Object.keys(fresh).sort()
    let bad = JSON.stringify(committed) !== JSON.stringify(names) ? [`files differ: committed ${committed} vs built ${names}`] : []
    for (const n of names) {
      let cur = null
      try { cur = readFileSync(join(dist, n)) } catch (e) {}
      if (!cur || Buffer.compare(cur, Buffer.from(fresh[n])) !== 0) bad.push(`${n} differs from a fresh build`)
    }
    if (bad.length) { console.error('dist/ is stale:\n  ' + bad.join('\n  ') + '\nrun: npm run build (in client/web) and commit dist/'); process.exit(1) }
    console.log('dist/ matches a fresh build:', names.join(', '))
  } finally { rmSync(tmp, { recursive: true, force: true }) }
} else {
  const files = await build(dist)
  if (arg === '--size') {
    let total = 0
    for (const [n, b] of Object.entries(files)) {
      const gz = gzipSync(b, { level: 9 }).length
      if (n.endsWith('.js')) total += gz
      console.log(`${n.padEnd(11)} ${String(b.length).padStart(8)} B raw ${String(gz).padStart(8)} B gzip`)
    }
    console.log(`JS total gzipped: ${(total / 1024).toFixed(1)} KiB`)
  } else console.log('built dist/:', Object.keys(files).join(', '))
}
