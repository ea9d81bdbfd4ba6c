import ArgumentParser
import Foundation
import LocusExperiments
import LocusRecipes

/// `--workdir DIR`: the one folder every relative path *inside* a recipe (rankings, steering
/// files), every cache (`runs/cache/…` activation caches recorded in ranking files, key
/// statistics) and every default output (`runs/sweeps/…`, `runs/report/…`) resolves against.
/// Paths given on the command line keep their usual meaning (relative to where the command is
/// typed): they are made absolute first, then the process changes into DIR, so no code path
/// can resolve a relative path against anything else. Default: the current directory.
enum Workdir {
    /// This executable, absolute (`ExecutableLocation.url`). Read before any `enter`.
    static var executable: URL { ExecutableLocation.url }

    /// `path` made absolute against the current directory (`~` expanded).
    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded).standardizedFileURL.path }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(expanded).standardizedFileURL.path
    }

    /// Changes into `workdir`, which must exist; returns it (absolute). Make command-line
    /// paths absolute (`absolute`) before calling this.
    @discardableResult
    static func enter(_ workdir: String) throws -> URL {
        _ = executable
        let dir = absolute(workdir)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("--workdir \(workdir): no such directory")
        }
        guard FileManager.default.changeCurrentDirectoryPath(dir) else {
            throw ValidationError("--workdir \(workdir): cannot change into it")
        }
        return URL(fileURLWithPath: dir)
    }
}

extension Run {
    /// `--workdir`: command-line paths made absolute, then into the work directory.
    mutating func enterWorkdir() throws {
        guard let workdir else { return }
        recipe = Workdir.absolute(recipe)
        results = results.map(Workdir.absolute)
        reuse = reuse.map(Workdir.absolute)
        data = data.map(Workdir.absolute)
        plan = plan.map(Workdir.absolute)
        options.model = options.model.map(Workdir.absolute)
        try Workdir.enter(workdir)
    }

    /// `--plan FILE`: the cost-balanced shard plan `locus slurm submit` wrote. It must have been
    /// made for this recipe's runs and this shard count.
    static func loadPlan(_ path: String, runs: [RunSpec], shard: Shard) throws -> ShardPlan {
        let plan: ShardPlan
        do { plan = try ShardPlan.load(URL(fileURLWithPath: path)) } catch let e as RecipeError {
            throw ValidationError(e.description)
        }
        guard plan.shardCount == shard.count else {
            throw ValidationError("--plan \(path) is for \(plan.shardCount) shards, not --shard \(shard)")
        }
        let unplanned = runs.filter { plan.shard(of: $0.runID) == nil }
        guard unplanned.isEmpty else {
            throw ValidationError(
                "--plan \(path) does not have \(unplanned.count) of this recipe's \(runs.count) runs "
                    + "(first: \(unplanned[0].runID) \(unplanned[0].label)); the recipe changed since the plan was made")
        }
        return plan
    }
}
