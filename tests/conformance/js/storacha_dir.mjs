// The Storacha client's directory encoding, offline: @storacha/upload-client's
// uploadDirectory() up to the wire — files sorted by name (defaultFileComparator),
// UnixFS.encodeDirectory / createDirectoryEncoderStream (flat directories, HAMT above
// 1000 entries), block de-duplication and CAR sharding.
//
// stdin: a JSON list of {dir, hidden?, shardSize?}. The tree under `dir` becomes the
//   list of files uploadDirectory() is given, as the CLI's files-from-path lists them
//   (see walk() below). Directories holding no file vanish.
// stdout: a JSON list of {dir, root, files: [name, ...], shards: [{cid, size}],
//   blocks: [cid, ...], links: [{name, cid}]}: `links` are every file and directory
//   (the root named "") as onDirectoryEntryLink reports them.
import { openAsBlob, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createDirectoryEncoderStream, encodeDirectory } from '@storacha/upload-client/unixfs'
import { SHARD_SIZE, defaultFileComparator } from '@storacha/upload-client/sharding'
import { isMain, readStdinJson, writeJson } from './io.mjs'
import { shardLikeTheClient } from './storacha.mjs'


// files-from-path (the CLI's `storacha up DIR`): readdir with file types, so symlinks
// below DIR are neither files nor directories and are skipped; hidden names are dropped
// at every level unless `hidden`; names lose the directory prefix all files share.
function walk (root, rel, hidden, out) {
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    if (!hidden && entry.name.startsWith('.')) continue
    const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`
    if (entry.isFile()) out.push(relPath)
    else if (entry.isDirectory()) walk(root, relPath, hidden, out)
  }
  return out
}

function commonDirectory (names) {
  let common
  for (const name of names) {
    const parts = name.split('/')
    if (common == null) { common = parts.slice(0, -1); continue }
    for (let i = 0; i < common.length; i++) {
      if (common[i] !== parts[i]) { common = common.slice(0, i); break }
    }
  }
  return common == null || common.length === 0 ? '' : common.join('/') + '/'
}

async function fileLike (root, path, name) {
  const blob = await openAsBlob(join(root, path))
  return { name, size: blob.size, stream: () => blob.stream() }
}

/** Encode the tree at `dir` as @storacha/client's uploadDirectory() would. */
export async function encodeStorachaDirectory ({ dir, hidden = false, shardSize }) {
  const names = walk(dir, '', hidden, [])
  const prefix = commonDirectory(names)
  const files = []
  for (const name of names) files.push(await fileLike(dir, name, name.slice(prefix.length)))
  const entries = [...files].sort(defaultFileComparator)
  const links = []
  const options = {
    onDirectoryEntryLink: (link) => links.push({ name: link.name, cid: link.cid.toString() })
  }
  const size = entries.reduce((n, f) => n + f.size, 0)
  const { root, shards, blocks } = await shardLikeTheClient(
    size,
    shardSize ?? SHARD_SIZE,
    () => encodeDirectory(entries, options),
    () => createDirectoryEncoderStream(entries, options)
  )
  return {
    dir,
    root,
    files: entries.map(f => f.name),
    shards,
    blocks,
    links
  }
}

if (isMain(import.meta.url)) {
  const jobs = await readStdinJson()
  const results = []
  for (const job of jobs) results.push(await encodeStorachaDirectory(job))
  writeJson(results)
}
