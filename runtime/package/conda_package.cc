#include "package/conda_package.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "config/conda_yaml.h"
#include "core/sha256.h"
#include "package/compress.h"
#include "package/conda_metadata.h"
#include "package/read_all.h"
#include "package/robot_files.h"
#include "package/tar_writer.h"
#include "package/zip_writer.h"

namespace robotni::package {

namespace fs = std::filesystem;

namespace {

struct Entry {
  std::string path;
  std::string data;
  bool executable = false;
};

// `first`'s entries, then `then`'s.
StatusOr<std::string> Tar(const std::vector<Entry>& first, const std::vector<Entry>& then = {}) {
  TarWriter tar;
  for (const auto* entries : {&first, &then})
    for (const Entry& e : *entries) ROBOTNI_RETURN_IF_ERROR(tar.Add(e.path, e.data, e.executable));
  return tar.Finish();
}

// The .tar.bz2 layout conda-build writes: info/ first, then the files.
StatusOr<std::string> TarBz2(const std::vector<Entry>& info, const std::vector<Entry>& pkg) {
  auto tar = Tar(info, pkg);
  if (!tar.ok()) return tar.status();
  return Bzip2(*tar);
}

// The .conda layout conda-package-handling writes: metadata.json, then pkg-, then info-.
StatusOr<std::string> CondaArchive(const std::string& stem, const std::vector<Entry>& info,
                                   const std::vector<Entry>& pkg) {
  auto pkg_tar = Tar(pkg);
  if (!pkg_tar.ok()) return pkg_tar.status();
  auto info_tar = Tar(info);
  if (!info_tar.ok()) return info_tar.status();
  auto pkg_zst = Zstd(*pkg_tar);
  if (!pkg_zst.ok()) return pkg_zst.status();
  auto info_zst = Zstd(*info_tar);
  if (!info_zst.ok()) return info_zst.status();
  ZipWriter zip;
  ROBOTNI_RETURN_IF_ERROR(zip.Add("metadata.json", "{\"conda_pkg_format_version\": 2}"));
  ROBOTNI_RETURN_IF_ERROR(zip.Add("pkg-" + stem + ".tar.zst", *pkg_zst));
  ROBOTNI_RETURN_IF_ERROR(zip.Add("info-" + stem + ".tar.zst", *info_zst));
  return zip.Finish();
}

// Written beside the target and renamed over it: a failed build leaves no half package.
Status WriteAtomically(const fs::path& target, const std::string& bytes) {
  fs::path tmp = target;
  tmp += ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Status::IOError("cannot write " + tmp.string() + ": " + strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::IOError("cannot write " + target.string() + ": " + ec.message());
  }
  return Status::OK();
}

}  // namespace

std::string RobotPrefix(const std::string& name) { return "share/robotni/robots/" + name; }

StatusOr<PackageResult> BuildCondaPackage(const config::RobotYaml& robot,
                                          const PackageOptions& options) {
  if (options.format != "conda" && options.format != "tar.bz2")
    return Status::InvalidArgument("--format " + options.format + ": expected conda or tar.bz2");
  fs::path conda_path = robot.CondaConfigPath();
  if (conda_path.empty())
    return Status::InvalidArgument(
        robot.path.string() +
        ": no conda.yaml: environmentConfigs (or condaConfigFile) must name one that exists; "
        "a package's dependencies come from it");
  auto conda = config::LoadCondaYaml(conda_path);
  if (!conda.ok()) return conda.status();

  PackageMeta meta;
  auto name = CondaName(!options.name.empty()  ? options.name
                        : !conda->name.empty() ? conda->name
                                               : robot.root.filename().string());
  if (!name.ok()) return name.status();
  meta.name = *name;
  ROBOTNI_RETURN_IF_ERROR(CheckCondaVersion(options.version));
  meta.version = options.version;
  for (const std::string& d : conda->dependencies) meta.depends.push_back(MatchSpec(d));
  meta.depends.push_back("robotni");
  meta.channels = conda->channels;
  meta.pip = conda->pip;
  meta.prefix = RobotPrefix(meta.name);
  for (const auto& t : robot.tasks) meta.tasks.push_back(t.name);

  auto robot_files = CollectRobotFiles(robot, {options.output_dir});
  if (!robot_files.ok()) return robot_files.status();
  std::vector<Entry> pkg;
  std::vector<PackagedFile> listed;
  for (const RobotFile& f : *robot_files) {
    auto data = ReadAll(f.absolute);
    if (!data.ok()) return data.status();
    Entry e{meta.prefix + "/" + f.relative, std::move(data).value(), f.executable};
    listed.push_back({e.path, core::Sha256Hex(e.data), e.data.size()});
    pkg.push_back(std::move(e));
  }
  // Sorted by path, as the robot's files already are.
  std::vector<Entry> info = {
      {"info/about.json", AboutJson(meta)},   {"info/files", FilesList(listed)},
      {"info/index.json", IndexJson(meta)},   {"info/link.json", LinkJson()},
      {"info/paths.json", PathsJson(listed)}, {"info/pip-requirements.txt", PipRequirements(meta)},
  };

  const std::string stem = meta.name + "-" + meta.version + "-" + meta.build;
  auto bytes = options.format == "conda" ? CondaArchive(stem, info, pkg) : TarBz2(info, pkg);
  if (!bytes.ok()) return bytes.status();

  std::error_code ec;
  fs::create_directories(options.output_dir, ec);
  if (ec)
    return Status::IOError("cannot create " + options.output_dir.string() + ": " + ec.message());
  PackageResult result;
  result.path = options.output_dir / (stem + "." + options.format);
  result.name = meta.name;
  result.version = meta.version;
  result.files = listed.size();
  ROBOTNI_RETURN_IF_ERROR(WriteAtomically(result.path, *bytes));
  return result;
}

}  // namespace robotni::package
