# Exported from stead.toml by `stead export nomad`; edit the source and export again.
job "stead-batch" {
  datacenters = ["*"]
  type        = "batch"

  group "worker" {
    count = 2

    restart {
      attempts = 20
      interval = "10m"
      delay    = "500ms"
      mode     = "fail"
    }

    task "worker" {
      driver = "docker"

      config {
        image   = "registry.example/app:1.0"
        command = "sh"
        args    = ["-c", "echo \"worker ${NOMAD_ALLOC_INDEX}: up\"; sleep $((2 + ${NOMAD_ALLOC_INDEX} * 13)); echo \"worker ${NOMAD_ALLOC_INDEX}: crashed\" >&2; exit 3"]
      }

      env = {
        WORKER_SLOT = "${NOMAD_ALLOC_INDEX}"
      }

      kill_timeout = "10s"
      kill_signal  = "SIGTERM"
    }
  }

  group "migrate" {
    count = 1

    restart {
      attempts = 0
      interval = "1m"
      delay    = "100ms"
      mode     = "fail"
    }

    task "migrate" {
      driver = "docker"

      config {
        image   = "registry.example/app:1.0"
        command = "sh"
        args    = ["-c", "echo 'migrate: applying 3 migrations'; sleep 1; echo 'migrate: done'"]
      }

      kill_timeout = "10s"
      kill_signal  = "SIGTERM"
    }
  }
}
