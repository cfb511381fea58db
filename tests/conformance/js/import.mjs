// Root CIDs from the JS UnixFS importer (ipfs-unixfs-importer) and Storacha's encoder.
//
// stdin: a JSON list of jobs (a bare path string means {path, profile: "kubo"}):
//   {path, profile: "kubo" | "kubo-v1" | "storacha" | {chunkSize, rawLeaves, cidVersion,
//    maxChildrenPerNode}, hidden?: boolean}
// stdout: a JSON list, one result per job, in order:
//   {path, cid, size, tsize, entries: [{cid, path}]}
// A directory is imported as `ipfs add -r` does (its own name is the root, no wrapping
// directory); `entries` lists every file and directory with its path relative to the
// parent of `path`, read back from the DAG (depth first, children before parents,
// in link order). Dot-files are skipped unless `hidden` is true (kubo's --hidden).
// `size` is the importer's size of the root entry; `tsize` is the root block's length
// plus the Tsize of its links (kubo's cumulative size).
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { encodeStorachaFile } from './storacha.mjs'
import { readStdinJson, writeJson } from './io.mjs'

const KUBO = { chunkSize: 262144, rawLeaves: false, cidVersion: 0, maxChildrenPerNode: 174 }
const PROFILES = {
  kubo: KUBO,
  'kubo-v1': { ...KUBO, rawLeaves: true, cidVersion: 1 }
}

/** Importer options for a named or custom kubo-style profile. */
export function importerOptions (profile) {
  const p = typeof profile === 'string' ? PROFILES[profile] : profile
  if (p == null) throw new Error(`unknown profile ${JSON.stringify(profile)}`)
  return {
    profile: 'unixfs-v0-2015',
    cidVersion: p.cidVersion,
    rawLeaves: p.rawLeaves,
    leafType: 'file',
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: p.chunkSize }),
    layout: balanced({ maxChildrenPerNode: p.maxChildrenPerNode }),
    wrapWithDirectory: false
  }
}

/** A blockstore that keeps only what tsize needs: dag-pb blocks, and the length of every block. */
class SizeStore {
  constructor () { this.pb = new Map(); this.len = new Map() }
  async put (cid, bytes) {
    const key = cid.toString()
    this.len.set(key, bytes.length)
    if (cid.code === dagPb.code) this.pb.set(key, bytes)
    return cid
  }

  async has (cid) { return this.len.has(cid.toString()) }

  /** Every entry under the directory `cid` as {cid, path}, children before parents. */
  entries (cid, path) {
    const bytes = this.pb.get(cid.toString())
    if (bytes == null) return [{ cid: cid.toString(), path }]
    const node = dagPb.decode(bytes)
    const type = UnixFS.unmarshal(node.Data).type
    if (type !== 'directory' && type !== 'hamt-sharded-directory') {
      return [{ cid: cid.toString(), path }]
    }
    const out = []
    for (const link of node.Links) {
      // HAMT links carry a 2-hex-digit bucket prefix; a bare prefix is a sub-shard
      if (type === 'hamt-sharded-directory' && link.Name.length === 2) {
        out.push(...this.entries(link.Hash, path).slice(0, -1))
      } else {
        const name = type === 'hamt-sharded-directory' ? link.Name.slice(2) : link.Name
        out.push(...this.entries(link.Hash, `${path}/${name}`))
      }
    }
    out.push({ cid: cid.toString(), path })
    return out
  }
  tsize (cid) {
    const key = cid.toString()
    const bytes = this.pb.get(key)
    if (bytes == null) return this.len.get(key)
    const node = dagPb.decode(bytes)
    return bytes.length + node.Links.reduce((sum, l) => sum + l.Tsize, 0)
  }
}

async function * walk (root, prefix, hidden) {
  const names = (await readdir(root)).sort()
  let any = false
  for (const name of names) {
    if (!hidden && name.startsWith('.')) continue
    any = true
    const full = join(root, name)
    const rel = `${prefix}/${name}`
    const st = await stat(full)
    if (st.isDirectory()) yield * walk(full, rel, hidden)
    else yield { path: rel, content: createReadStream(full, { highWaterMark: 1 << 20 }) }
  }
  if (!any) yield { path: prefix }
}

async function importOne (job) {
  const path = typeof job === 'string' ? job : job.path
  const profile = typeof job === 'string' ? 'kubo' : (job.profile ?? 'kubo')
  if (profile === 'storacha') {
    const { root } = await encodeStorachaFile(path, {})
    return { path, cid: root, entries: [{ cid: root, path: basename(path) }] }
  }
  const st = await stat(path)
  const name = basename(path)
  const source = st.isDirectory()
    ? walk(path, name, Boolean(job.hidden))
    : [{ path: name, content: createReadStream(path, { highWaterMark: 1 << 20 }) }]
  const store = new SizeStore()
  let last
  for await (const entry of importer(source, store, importerOptions(profile))) last = entry
  if (last == null || last.path !== name) throw new Error(`no root entry for ${path}`)
  return {
    path,
    cid: last.cid.toString(),
    size: Number(last.size),
    tsize: store.tsize(last.cid),
    entries: st.isDirectory() ? store.entries(last.cid, name) : [{ cid: last.cid.toString(), path: name }]
  }
}

const jobs = await readStdinJson()
const results = []
for (const job of jobs) results.push(await importOne(job))
writeJson(results)
