# Exported from stead.toml by `stead export nomad`; edit the source and export again.
job "stead" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 1

    restart {
      attempts = 10
      interval = "1m"
      delay    = "100ms"
      mode     = "fail"
    }

    task "web" {
      driver = "docker"

      config {
        image   = "registry.example/app:1.0"
        command = "/bin/sh"
        args    = ["-c", "echo \"web: listening (pid $$)\"; while :; do sleep 5; echo \"web: $(date +%T) served a request\"; done"]
      }

      kill_timeout = "5s"
      kill_signal  = "SIGTERM"
    }
  }
}
