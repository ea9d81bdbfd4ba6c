/// A recipe problem, naming the field by its path (`methods[1].alpha`) and, when known, the file.
public struct RecipeError: Error, Equatable, CustomStringConvertible {
    public var file: String?
    public var path: String
    public var problem: String

    public init(file: String? = nil, path: String, _ problem: String) {
        self.file = file
        self.path = path
        self.problem = problem
    }

    public var description: String {
        let place = path.isEmpty ? "(top level)" : path
        return (file.map { "\($0): " } ?? "") + "\(place): \(problem)"
    }
}
