using Grpc.Core;
using Spanner.Client;
using Spanner.Client.Admin.Database.V1;
using Spanner.Client.Admin.Instance.V1;
using Spanner.Client.LongRunning;

namespace ChatService.Tests.Spanner;

/// <summary>Long-running operation handling, against <see cref="FakeSpannerServer"/> (the emulator's operations finish at once).</summary>
public sealed class SpannerAdminClientTests : IAsyncDisposable
{
    private static readonly SpannerClientOptions Options = new() { ProjectId = "p", InstanceId = "i", DatabaseId = "d" };

    private readonly FakeSpannerServer _server = new();
    private readonly RecordingTimeProvider _time = new();
    private readonly SpannerAdminClient _admin;

    public SpannerAdminClientTests() => _admin = SpannerAdminClient.Create(Options, _server, _time);

    [Fact]
    public async Task UpdateDdl_OperationNotDone_PollsGetOperationUntilDone()
    {
        var polls = 0;
        _server.Handle<UpdateDatabaseDdlRequest>("UpdateDatabaseDdl", _ => new Operation { Name = $"{FakeSpannerServer.Database}/operations/op1" });
        _server.Handle<GetOperationRequest>("GetOperation", r => new Operation { Name = r.Name, Done = ++polls == 3 });

        await _time.DriveAsync(Run(() => _admin.UpdateDdlAsync(["CREATE TABLE T (K INT64) PRIMARY KEY (K)"], TestContext.Current.CancellationToken)));

        Assert.Equal(3, polls);
        Assert.Equal(3, _time.Delays.Count);
        Assert.True(_time.Delays[2] > _time.Delays[0], "polling backs off");
        var headers = _server.CallsTo("GetOperation").First().Headers;
        Assert.Equal($"name={Uri.EscapeDataString($"{FakeSpannerServer.Database}/operations/op1")}", headers.GetValue("x-goog-request-params"));
        Assert.Equal(FakeSpannerServer.Database, headers.GetValue("google-cloud-resource-prefix"));
    }

    [Fact]
    public async Task UpdateDdl_OperationFails_ThrowsSpannerExceptionWithItsCode()
    {
        _server.Handle<UpdateDatabaseDdlRequest>("UpdateDatabaseDdl", _ => new Operation
        {
            Name = "op",
            Done = true,
            Error = new Google.Rpc.Status { Code = (int)StatusCode.FailedPrecondition, Message = "Duplicate name in schema: T." },
        });

        var error = await Assert.ThrowsAsync<SpannerException>(() => _admin.UpdateDdlAsync(["CREATE TABLE T (K INT64) PRIMARY KEY (K)"], TestContext.Current.CancellationToken));

        Assert.Equal(SpannerErrorCode.FailedPrecondition, error.ErrorCode);
        Assert.Contains("Duplicate name", error.Message);
    }

    [Fact]
    public async Task EnsureInstance_Missing_CreatesItWithConfigAndOneNode()
    {
        _server.Handle<GetInstanceRequest>("GetInstance", r => throw new RpcException(new Status(StatusCode.NotFound, $"Instance not found: {r.Name}")));
        _server.Handle<CreateInstanceRequest>("CreateInstance", _ => new Operation { Name = "op", Done = true });

        await _admin.EnsureInstanceAsync("regional-us-central1", TestContext.Current.CancellationToken);

        var request = (CreateInstanceRequest)_server.CallsTo("CreateInstance").Single().Request;
        Assert.Equal(("projects/p", "i", "projects/p/instanceConfigs/regional-us-central1", 1), (request.Parent, request.InstanceId, request.Instance.Config, request.Instance.NodeCount));
        Assert.InRange(request.Instance.DisplayName.Length, 4, 30);
        Assert.Equal("projects/p/instances/i", _server.CallsTo("CreateInstance").Single().Headers.GetValue("google-cloud-resource-prefix"));
    }

    [Fact]
    public async Task EnsureDatabase_CreatedConcurrently_AlreadyExistsIsFine()
    {
        _server.Handle<GetDatabaseRequest>("GetDatabase", _ => throw new RpcException(new Status(StatusCode.NotFound, "Database not found")));
        _server.Handle<CreateDatabaseRequest>("CreateDatabase", _ => throw new RpcException(new Status(StatusCode.AlreadyExists, "Database already exists")));

        await _admin.EnsureDatabaseAsync(TestContext.Current.CancellationToken);

        Assert.Equal("CREATE DATABASE `d`", ((CreateDatabaseRequest)_server.CallsTo("CreateDatabase").Single().Request).CreateStatement);
    }

    public async ValueTask DisposeAsync() => await _admin.DisposeAsync();

    private static async Task<bool> Run(Func<Task> action)
    {
        await action();
        return true;
    }
}
