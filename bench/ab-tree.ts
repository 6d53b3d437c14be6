/**
 * The source tree of one side of an A/B run (ab.ts): this tree, a folder as given, or a git ref checked
 * out into a temporary `git worktree` with this tree's node_modules linked into it, removed after (or on
 * Ctrl-C, by `remove`). The server runs from the tree's own `server/main.ts`.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

export interface SourceTree {
    root: string
    /** what the tree is, for the report: the ref and its commit, or the folder */
    label: string
    remove: () => void
}

function git(args: string[], cwd: string): string {
    const result = spawnSync("git", args, { cwd, encoding: "utf8" })
    if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${(result.stderr || result.stdout).trim()}`)
    return result.stdout.trim()
}

/** This tree: its commit, and whether it has changes not committed (they run too). */
export function currentTree(root = process.cwd()): SourceTree {
    const commit = git(["rev-parse", "--short", "HEAD"], root)
    const dirty = git(["status", "--porcelain", "--untracked-files=no"], root) !== ""
    return { root, label: `this tree (${commit}${dirty ? " + changes not committed" : ""})`, remove: () => undefined }
}

/**
 * `spec` as a tree: a folder with `server/main.ts` (and its node_modules) as it is, else a git ref of the
 * repository at `repo`, checked out in a temporary worktree. Throws naming `spec` when it is neither.
 */
export function treeOf(spec: string, repo = process.cwd()): SourceTree {
    const folder = resolve(spec)
    if (existsSync(folder) && statSync(folder).isDirectory()) {
        if (!existsSync(join(folder, "server", "main.ts"))) throw new Error(`${spec}: no server/main.ts in that folder`)
        if (!existsSync(join(folder, "node_modules")))
            throw new Error(`${spec}: no node_modules in that folder (link this tree's: ln -s ${repo}/node_modules)`)
        return { root: folder, label: `folder ${folder}`, remove: () => undefined }
    }
    const found = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${spec}^{commit}`], {
        cwd: repo,
        encoding: "utf8",
    })
    if (found.status !== 0) throw new Error(`${spec}: neither a folder nor a commit of the repository at ${repo}`)
    const commit = found.stdout.trim()
    const root = mkdtempSync(join(tmpdir(), "nightlight-ab-"))
    try {
        git(["worktree", "add", "--detach", root, commit], repo)
        symlinkSync(join(repo, "node_modules"), join(root, "node_modules"), "dir")
    } catch (error) {
        rmSync(root, { recursive: true, force: true })
        throw error
    }
    let removed = false
    return {
        root,
        label: `${spec} (${commit.slice(0, 7)})`,
        remove: () => {
            if (removed) return
            removed = true
            spawnSync("git", ["worktree", "remove", "--force", root], { cwd: repo })
            rmSync(root, { recursive: true, force: true })
        },
    }
}
