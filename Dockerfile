# Media service image: `media serve` with any roles. Build from the repository root:
#   docker build -t media .
# The GPU variant takes ONNX Runtime's GPU package (Microsoft.ML.OnnxRuntime.Gpu.Linux, CUDA and TensorRT execution
# providers) from NuGet: docker build --build-arg GPU=1 -t media:gpu . (the feed must serve it; run it with the NVIDIA
# container toolkit; the CUDA 12 / cuDNN 9 runtime libraries must be present in the base image or mounted — use
# nvidia/cuda:12.x-cudnn-runtime-debian12-style bases for RUNTIME_BASE).

ARG RUNTIME_BASE=mcr.microsoft.com/dotnet/runtime:10.0-bookworm-slim

FROM mcr.microsoft.com/dotnet/sdk:10.0-bookworm-slim AS build
ARG GPU=0
WORKDIR /src
COPY . .
RUN dotnet publish src/Media.Cli/Media.Cli.csproj -c Release -o /out $([ "$GPU" = 1 ] && echo -p:OrtGpu=true)

FROM ${RUNTIME_BASE}
# The decoders the service calls in process (TurboJPEG, libspng, libwebp, Chromaprint) and the ffmpeg CLI fallback.
RUN apt-get update && apt-get install -y --no-install-recommends \
      libturbojpeg0 libspng0 libwebp7 libchromaprint1 ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /app
COPY models /models
RUN useradd --system --uid 10001 media && mkdir -p /data && chown media /data
USER media
ENV MEDIA_DATA=/data
# Transparent huge pages for malloc: ONNX session creation is mostly page faults otherwise (README, "Cost per image").
ENV GLIBC_TUNABLES=glibc.malloc.hugetlb=1
VOLUME ["/data"]
ENTRYPOINT ["/app/media"]
CMD ["serve", "--role", "all"]
