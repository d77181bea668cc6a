# Media service image: `media serve` with any roles. Build from the repository root:
#   docker build -t media .
# The GPU variant adds ONNX Runtime's CUDA execution provider: docker build --build-arg GPU=1 -t media:gpu .
# (run it with the NVIDIA container toolkit; the CUDA 12 / cuDNN 9 runtime libraries must be present in the base
# image or mounted — use nvidia/cuda:12.x-cudnn-runtime-debian12-style bases for RUNTIME_BASE).

ARG RUNTIME_BASE=mcr.microsoft.com/dotnet/runtime:10.0-bookworm-slim

FROM mcr.microsoft.com/dotnet/sdk:10.0-bookworm-slim AS build
ARG GPU=0
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm make && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# ONNX Runtime (native library + C# API sources) from npm, as `make setup` does; CUDA providers when GPU=1.
RUN mkdir -p .deps/onnxruntime && cd .deps/onnxruntime \
 && npm pack --silent com.github.asus4.onnxruntime@0.4.9 \
 && tar xzf com.github.asus4.onnxruntime-0.4.9.tgz --wildcards 'package/Runtime/*' 'package/Plugins/Linux/x64/*' 'package/LICENSE' 'package/ThirdPartyNotices.txt' \
 && rm -f *.tgz
RUN if [ "$GPU" = 1 ]; then mkdir -p .deps/onnxruntime-gpu && cd .deps/onnxruntime-gpu \
 && npm pack --silent com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 \
 && tar xzf com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz --wildcards 'package/Plugins/Linux/x64/*.so' 'package/LICENSE' && rm -f *.tgz; fi
RUN dotnet publish src/Media.Cli/Media.Cli.csproj -c Release -o /out

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
VOLUME ["/data"]
ENTRYPOINT ["/app/media"]
CMD ["serve", "--role", "all"]
