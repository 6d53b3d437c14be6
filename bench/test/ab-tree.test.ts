/**
 * The trees of an A/B run (bench/ab-tree.ts), on a throwaway git repository: a ref becomes a temporary
 * worktree with the repository's node_modules linked and is gone after `remove`; a folder is used as it
 * is; anything else is refused by name.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, test } from "vitest"
import { currentTree, treeOf } from "../ab-tree"

const repo = realpathSync(mkdtempSync(join(tmpdir(), "nightlight-ab-tree-test-")))
const git = (...args: string[]) => {
    const result = spawnSync("git", args, { cwd: repo, encoding: "utf8" })
    if (result.status !== 0) throw new Error(result.stderr)
    return result.stdout.trim()
}
const commit = (text: string) => {
    writeFileSync(join(repo, "server", "main.ts"), text)
    git("add", "server/main.ts")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", text)
    return git("rev-parse", "HEAD")
}

mkdirSync(join(repo, "server"))
mkdirSync(join(repo, "node_modules"))
writeFileSync(join(repo, ".gitignore"), "node_modules\n")
git("init", "-q")
const first = commit("// first")
commit("// second")

afterAll(() => rmSync(repo, { recursive: true, force: true }))

describe("the trees of an A/B run", () => {
    test("a ref: checked out in a temporary worktree with node_modules linked, removed after", () => {
        const tree = treeOf("HEAD~1", repo)
        try {
            expect(tree.label).toBe(`HEAD~1 (${first.slice(0, 7)})`)
            expect(readFileSync(join(tree.root, "server", "main.ts"), "utf8")).toBe("// first")
            expect(realpathSync(join(tree.root, "node_modules"))).toBe(join(repo, "node_modules"))
            expect(git("worktree", "list")).toContain(tree.root)
        } finally {
            tree.remove()
        }
        expect(existsSync(tree.root)).toBe(false)
        expect(git("worktree", "list")).not.toContain(tree.root)
    })

    test("a folder with server/main.ts and node_modules: as it is, nothing removed", () => {
        const tree = treeOf(repo, repo)
        expect(tree.root).toBe(repo)
        tree.remove()
        expect(existsSync(join(repo, "server", "main.ts"))).toBe(true)
    })

    test("refuses what is neither, and a folder that is not a tree of ours", () => {
        expect(() => treeOf("no-such-ref", repo)).toThrow("no-such-ref: neither a folder nor a commit")
        expect(() => treeOf(join(repo, "server"), repo)).toThrow("no server/main.ts in that folder")
    })

    test("this tree says when it has changes not committed, which run too", () => {
        expect(currentTree(repo).label).toBe(`this tree (${git("rev-parse", "--short", "HEAD")})`)
        writeFileSync(join(repo, "server", "main.ts"), "// changed")
        expect(currentTree(repo).label).toContain("+ changes not committed")
    })
})
