import Experiments
import Foundation
import Reporting

extension ExperimentSet {
    /// The set a template's front matter declares; an unknown name or a bad seed is an error naming
    /// the template.
    public init(frontMatter: FrontMatter, file: String) throws {
        func list(_ key: String) -> [String]? {
            frontMatter.fields["experiments.\(key)"].map { value in
                value.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty }
            }
        }
        func fail(_ problem: String) -> TemplateError { TemplateError(file: file, line: 1, problem: "front matter experiments: \(problem)") }
        self.init()
        if let names = list("networks") {
            networks = try names.map { name in
                guard let kind = ModelKind(rawValue: name) else {
                    throw fail("unknown network '\(name)'; choose from \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return kind
            }
        }
        if let names = list("variants") {
            variants = try names.map { name in
                guard let variant = Variant(rawValue: name) else {
                    throw fail("unknown variant '\(name)'; choose from \(Variant.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return variant
            }
        }
        if let values = list("seeds") {
            seeds = try values.map { value in
                guard let seed = UInt64(value) else { throw fail("seed '\(value)' is not a whole number ≥ 0") }
                return seed
            }
        }
        guard !networks.isEmpty, !variants.isEmpty, !seeds.isEmpty else { throw fail("networks, variants and seeds may not be empty") }
    }

}
