// stdin/stdout helpers shared by the peer scripts: one JSON document in, one out.
import { text } from 'node:stream/consumers'

/** Parse all of stdin as JSON. */
export async function readStdinJson () {
  return JSON.parse(await text(process.stdin))
}

/** Print `value` as one line of JSON. */
export function writeJson (value) {
  process.stdout.write(JSON.stringify(value) + '\n')
}

/** True when the module at `url` is the script node was started with. */
export function isMain (url) {
  return process.argv[1] != null && new URL(url).pathname === process.argv[1]
}
