using ChatService.Tests.Infrastructure;

// One LocalStack for the whole test assembly: test classes take it in their constructor.
[assembly: AssemblyFixture(typeof(LocalStack))]
