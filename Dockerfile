# syntax=docker/dockerfile:1
# The chat service: SDK image builds and publishes it, the ASP.NET runtime image runs it as non-root.
#   docker build -t chatservice .
#   docker compose -f emulator-compose.yml up --build     (with the emulator and the Redis Cluster)

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Restore from the build settings and project files alone, so this layer stays cached until a
# dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Spanner.Client/Spanner.Client.csproj src/Spanner.Client/
COPY src/ChatService/ChatService.csproj src/ChatService/
RUN dotnet restore src/ChatService/ChatService.csproj

COPY protos/ protos/
COPY src/Spanner.Client/ src/Spanner.Client/
COPY src/ChatService/ src/ChatService/
RUN dotnet publish src/ChatService/ChatService.csproj -c Release --no-restore -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./

# The service's own Kestrel endpoints (appsettings.json) bind gRPC h2c on 50051 and HTTP/1.1 on 8080;
# clear the image's default ASPNETCORE_HTTP_PORTS=8080 so Kestrel doesn't warn that it overrides it.
ENV ASPNETCORE_HTTP_PORTS=
EXPOSE 50051 8080

# APP_UID is the non-root "app" user the .NET images ship with.
USER $APP_UID
ENTRYPOINT ["dotnet", "ChatService.dll"]
