using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spanner.Client.Admin.Database.V1;
using Spanner.Client.Admin.Instance.V1;
using Spanner.Client.Internal;
using Spanner.Client.LongRunning;

namespace Spanner.Client;

/// <summary>
/// Creates the instance and database named by <see cref="SpannerClientOptions"/> and applies schema changes
/// (emulator setup and migrations). Long-running operations are awaited before the methods return.
/// </summary>
public sealed class SpannerAdminClient : IAsyncDisposable
{
    private readonly SpannerClientOptions _options;
    private readonly GrpcChannel? _channel;
    private readonly ILogger _logger;
    private readonly InstanceAdmin.InstanceAdminClient _instances;
    private readonly DatabaseAdmin.DatabaseAdminClient _databases;
    private readonly OperationPoller _instanceOperations;
    private readonly OperationPoller _databaseOperations;

    private SpannerAdminClient(SpannerClientOptions options, CallInvoker invoker, GrpcChannel? channel, ILoggerFactory? loggerFactory, TimeProvider time)
    {
        _options = options;
        _channel = channel;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Spanner.Client.Admin");
        _instances = new InstanceAdmin.InstanceAdminClient(invoker);
        _databases = new DatabaseAdmin.DatabaseAdminClient(invoker);
        var operations = new Operations.OperationsClient(invoker);
        _instanceOperations = new OperationPoller(operations, options.InstancePath, time, _logger);
        _databaseOperations = new OperationPoller(operations, options.DatabasePath, time, _logger);
    }

    /// <summary>Creates an admin client with its own channel (same transport rules as <see cref="SpannerDatabaseClient.Create(SpannerClientOptions, ILoggerFactory?, TimeProvider?)"/>, admin OAuth scope).</summary>
    public static SpannerAdminClient Create(SpannerClientOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Spanner.Client.Admin");
        var channel = ChannelFactory.Create(options, ChannelFactory.AdminScope, TimeProvider.System, logger);
        return new SpannerAdminClient(options, channel.CreateCallInvoker(), channel, loggerFactory, TimeProvider.System);
    }

    /// <summary>An admin client over a given call invoker (tests use a fake server).</summary>
    internal static SpannerAdminClient Create(SpannerClientOptions options, CallInvoker invoker, TimeProvider time)
    {
        options.Validate();
        return new SpannerAdminClient(options, invoker, channel: null, loggerFactory: null, time);
    }

    /// <summary>
    /// Creates the instance if it does not exist (config <c>projects/P/instanceConfigs/{instanceConfig}</c>, one node)
    /// and waits for it. An instance created concurrently (ALREADY_EXISTS) is fine.
    /// </summary>
    /// <param name="instanceConfig">The instance configuration id. Default: "emulator-config", the emulator's only one.</param>
    /// <param name="cancellationToken">Cancels the calls and the wait.</param>
    public async Task EnsureInstanceAsync(string instanceConfig = "emulator-config", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instanceConfig);
        var name = _options.InstancePath;
        try
        {
            var headers = RoutingHeaders.Create(name, "name", name);
            await AdminCalls.RunAsync(() => _instances.GetInstanceAsync(new GetInstanceRequest { Name = name }, headers, cancellationToken: cancellationToken), cancellationToken);
            return;
        }
        catch (SpannerException ex) when (ex.ErrorCode == SpannerErrorCode.NotFound)
        {
        }

        var request = new CreateInstanceRequest
        {
            Parent = _options.ProjectPath,
            InstanceId = _options.InstanceId,
            Instance = new Instance
            {
                Name = name,
                Config = $"{_options.ProjectPath}/instanceConfigs/{instanceConfig}",
                DisplayName = DisplayName(_options.InstanceId),
                NodeCount = 1,
            },
        };
        try
        {
            var headers = RoutingHeaders.Create(name, "parent", request.Parent);
            var operation = await AdminCalls.RunAsync(() => _instances.CreateInstanceAsync(request, headers, cancellationToken: cancellationToken), cancellationToken);
            await _instanceOperations.WaitAsync(operation, cancellationToken);
            Log.Created(_logger, "instance", name);
        }
        catch (SpannerException ex) when (ex.ErrorCode == SpannerErrorCode.AlreadyExists)
        {
        }
    }

    /// <summary>Creates the database if it does not exist and waits for it. One created concurrently (ALREADY_EXISTS) is fine.</summary>
    public async Task EnsureDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = _options.DatabasePath;
        try
        {
            var headers = RoutingHeaders.Create(name, "name", name);
            await AdminCalls.RunAsync(() => _databases.GetDatabaseAsync(new GetDatabaseRequest { Name = name }, headers, cancellationToken: cancellationToken), cancellationToken);
            return;
        }
        catch (SpannerException ex) when (ex.ErrorCode == SpannerErrorCode.NotFound)
        {
        }

        var request = new CreateDatabaseRequest
        {
            Parent = _options.InstancePath,
            CreateStatement = $"CREATE DATABASE `{_options.DatabaseId}`",
        };
        try
        {
            var headers = RoutingHeaders.Create(name, "parent", request.Parent);
            var operation = await AdminCalls.RunAsync(() => _databases.CreateDatabaseAsync(request, headers, cancellationToken: cancellationToken), cancellationToken);
            await _databaseOperations.WaitAsync(operation, cancellationToken);
            Log.Created(_logger, "database", name);
        }
        catch (SpannerException ex) when (ex.ErrorCode == SpannerErrorCode.AlreadyExists)
        {
        }
    }

    /// <summary>The database schema as DDL statements.</summary>
    public async Task<IReadOnlyList<string>> GetDdlAsync(CancellationToken cancellationToken = default)
    {
        var name = _options.DatabasePath;
        var headers = RoutingHeaders.Create(name, "database", name);
        var response = await AdminCalls.RunAsync(
            () => _databases.GetDatabaseDdlAsync(new GetDatabaseDdlRequest { Database = name }, headers, cancellationToken: cancellationToken), cancellationToken);
        return response.Statements.ToList();
    }

    /// <summary>
    /// Applies DDL statements and waits until the schema change is done. A failed statement surfaces as a
    /// <see cref="SpannerException"/> with the operation's error code (statements before it stay applied).
    /// </summary>
    public async Task UpdateDdlAsync(IReadOnlyList<string> statements, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statements);
        if (statements.Count == 0)
        {
            return;
        }

        var name = _options.DatabasePath;
        var request = new UpdateDatabaseDdlRequest { Database = name };
        request.Statements.AddRange(statements);
        var headers = RoutingHeaders.Create(name, "database", name);
        var operation = await AdminCalls.RunAsync(() => _databases.UpdateDatabaseDdlAsync(request, headers, cancellationToken: cancellationToken), cancellationToken);
        await _databaseOperations.WaitAsync(operation, cancellationToken);
    }

    /// <summary>Drops the database. Dropping a database that does not exist is not an error.</summary>
    public async Task DropDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = _options.DatabasePath;
        var headers = RoutingHeaders.Create(name, "database", name);
        try
        {
            await AdminCalls.RunAsync(() => _databases.DropDatabaseAsync(new DropDatabaseRequest { Database = name }, headers, cancellationToken: cancellationToken), cancellationToken);
        }
        catch (SpannerException ex) when (ex.ErrorCode == SpannerErrorCode.NotFound)
        {
        }
    }

    /// <summary>Closes the channel.</summary>
    public ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        return ValueTask.CompletedTask;
    }

    // Display names must be 4 to 30 characters.
    private static string DisplayName(string instanceId)
    {
        var displayName = instanceId.Length < 4 ? $"{instanceId} instance" : instanceId;
        return displayName.Length > 30 ? displayName[..30] : displayName;
    }
}
