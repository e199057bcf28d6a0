using Xunit.Sdk;
using Xunit.v3;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// Runs a class's tests in the ordinal order of their method names, instead of xunit's default order,
/// which is stable for one build but differs between clones (it hashes ids that include the path).
/// For tests that share state outside the process, so a failure reproduces in every clone.
/// </summary>
public sealed class MethodNameOrderer : ITestCaseOrderer
{
    public IReadOnlyCollection<TTestCase> OrderTestCases<TTestCase>(IReadOnlyCollection<TTestCase> testCases)
        where TTestCase : notnull, ITestCase =>
        [.. testCases.OrderBy(testCase => Name(testCase), StringComparer.Ordinal)];

    internal static string Name(ITestCase testCase) => testCase.TestMethodName ?? testCase.TestCaseDisplayName;
}

/// <summary>The reverse of <see cref="MethodNameOrderer"/>.</summary>
public sealed class ReverseMethodNameOrderer : ITestCaseOrderer
{
    public IReadOnlyCollection<TTestCase> OrderTestCases<TTestCase>(IReadOnlyCollection<TTestCase> testCases)
        where TTestCase : notnull, ITestCase =>
        [.. testCases.OrderByDescending(testCase => MethodNameOrderer.Name(testCase), StringComparer.Ordinal)];
}
