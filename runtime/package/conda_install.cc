#include "package/conda_install.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/sha256.h"
#include "package/decompress.h"
#include "package/md5.h"
#include "package/read_all.h"
#include "package/tar_reader.h"
#include "package/zip_reader.h"

namespace robotni::package {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A path inside the package: relative, no empty, `.` or `..` component.
bool SafeRelative(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  std::istringstream in(p);
  for (std::string part; std::getline(in, part, '/');)
    if (part.empty() || part == "." || part == "..") return false;
  return p.back() != '/';
}

// The tar entries of a package: .conda = zip of info-*.tar.zst and pkg-*.tar.zst;
// .tar.bz2 = one tar. The tar bytes are kept in `buffers` (the entries view into them).
StatusOr<std::vector<TarEntry>> Entries(const std::string& file_name, const std::string& bytes,
                                        std::vector<std::string>* buffers) {
  std::vector<TarEntry> out;
  auto add_tar = [&](std::string tar) -> Status {
    buffers->push_back(std::move(tar));
    auto entries = ReadTar(buffers->back());
    if (!entries.ok()) return entries.status();
    out.insert(out.end(), entries->begin(), entries->end());
    return Status::OK();
  };
  if (EndsWith(file_name, ".tar.bz2")) {
    auto tar = Bunzip2(bytes);
    if (!tar.ok()) return tar.status();
    ROBOTNI_RETURN_IF_ERROR(add_tar(std::move(tar).value()));
    return out;
  }
  auto zip = ReadStoredZip(bytes);
  if (!zip.ok()) return zip.status();
  int info = 0, pkg = 0;
  for (const auto& [name, data] : *zip) {
    bool is_info = name.rfind("info-", 0) == 0 && EndsWith(name, ".tar.zst");
    bool is_pkg = name.rfind("pkg-", 0) == 0 && EndsWith(name, ".tar.zst");
    if (!is_info && !is_pkg) continue;  // metadata.json
    (is_info ? info : pkg) += 1;
    auto tar = Unzstd(data);
    if (!tar.ok()) return Status::InvalidArgument(name + ": " + tar.status().message());
    ROBOTNI_RETURN_IF_ERROR(add_tar(std::move(tar).value()));
  }
  if (info != 1 || pkg != 1)
    return Status::InvalidArgument(
        "a .conda holds one info-*.tar.zst and one pkg-*.tar.zst; "
        "found " +
        std::to_string(info) + " and " + std::to_string(pkg));
  // A ustar-only packer may have written names relative to "./"; ReadTar dropped it.
  return out;
}

// conda's binary placeholder replacement: each NUL-terminated string holding the
// placeholder gets the prefix instead, padded with NULs to its old length.
StatusOr<std::string> ReplaceBinary(std::string data, const std::string& placeholder,
                                    const std::string& prefix) {
  if (prefix.size() > placeholder.size())
    return Status::InvalidArgument("the prefix (" + std::to_string(prefix.size()) +
                                   " bytes) is longer than the package's placeholder (" +
                                   std::to_string(placeholder.size()) + "); use a shorter one");
  size_t at = 0;
  while ((at = data.find(placeholder, at)) != std::string::npos) {
    size_t end = data.find('\0', at);
    if (end == std::string::npos) end = data.size();
    std::string s = data.substr(at, end - at);
    std::string replaced;
    for (size_t i = 0, j; i < s.size(); i = j + placeholder.size()) {
      j = s.find(placeholder, i);
      if (j == std::string::npos) {
        replaced += s.substr(i);
        break;
      }
      replaced += s.substr(i, j - i) + prefix;
    }
    replaced.resize(s.size(), '\0');
    data.replace(at, s.size(), replaced);
    at = end;
  }
  return data;
}

std::string ReplaceText(std::string data, const std::string& placeholder,
                        const std::string& prefix) {
  for (size_t at = 0; (at = data.find(placeholder, at)) != std::string::npos; at += prefix.size())
    data.replace(at, placeholder.size(), prefix);
  return data;
}

Status Unsafe(const std::string& file, const std::string& path, const std::string& why) {
  return Status::InvalidArgument(file + ": " + path + ": " + why +
                                 "; nothing from this package was installed");
}

// Writes `data` beside `target` and renames it over, so a reader never sees half a file.
Status WriteFileAtomic(const fs::path& target, std::string_view data, unsigned mode) {
  fs::path tmp = target;
  tmp += ".robotni-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Status::IOError("cannot write " + tmp.string() + ": " + strerror(errno));
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IOError("cannot write " + tmp.string() + ": " + strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);
  if (::close(fd) != 0 || ::rename(tmp.c_str(), target.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write " + target.string() + ": " + strerror(err));
  }
  return Status::OK();
}

// The parent directory of `path` in the prefix, created; refused when an existing
// symlink in the prefix would make it land outside.
StatusOr<fs::path> ParentInPrefix(const fs::path& prefix_real, const std::string& path) {
  fs::path parent = (prefix_real / path).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return Status::IOError("cannot create " + parent.string() + ": " + ec.message());
  fs::path real = fs::canonical(parent, ec);
  if (ec) return Status::IOError("cannot resolve " + parent.string() + ": " + ec.message());
  auto rel = real.lexically_relative(prefix_real);
  if (rel.empty() || *rel.begin() == "..")
    return Status::InvalidArgument(path + ": its folder resolves to " + real.string() +
                                   ", outside the prefix (a symlink in the prefix)");
  return real;
}

Json Record(const LoadedPackage& pkg, const Json& index) {
  Json r = index;  // name, version, build, build_number, depends, subdir, license, ...
  r["fn"] = pkg.file_name;
  r["md5"] = pkg.md5;
  r["sha256"] = pkg.sha256;
  r["size"] = pkg.size;
  r["url"] = "file://" + pkg.archive.string();
  r["channel"] = "file://" + pkg.archive.parent_path().string();
  if (!r.contains("subdir")) r["subdir"] = "noarch";
  if (!r.contains("depends")) r["depends"] = Json::array();
  if (!r.contains("build_number")) r["build_number"] = 0;
  Json files = Json::array(), paths = Json::array();
  for (const PackageFile& f : pkg.files) {
    files.push_back(f.path);
    Json p = {{"_path", f.path}};
    if (f.type == PackageFile::Type::kSymlink) {
      p["path_type"] = "softlink";
    } else {
      p["path_type"] = "hardlink";
      p["sha256"] = f.sha256_in_package;
      p["size_in_bytes"] = f.size_in_package;
      std::string in_prefix = core::Sha256Hex(f.data);
      if (in_prefix != f.sha256_in_package) p["sha256_in_prefix"] = in_prefix;
    }
    paths.push_back(std::move(p));
  }
  r["files"] = std::move(files);
  r["paths_data"] = {{"paths_version", 1}, {"paths", std::move(paths)}};
  r["extracted_package_dir"] = "";  // unpacked straight from the archive: no pkgs/ cache
  r["package_tarball_full_path"] = pkg.archive.string();
  r["requested_spec"] = pkg.name;
  // type 1: hardlink, conda's LinkType for files copied in.
  r["link"] = {{"source", pkg.archive.string()}, {"type", 1}};
  return r;
}

}  // namespace

StatusOr<LoadedPackage> LoadCondaPackage(const fs::path& archive, const fs::path& prefix) {
  LoadedPackage pkg;
  pkg.archive = fs::absolute(archive).lexically_normal();
  pkg.file_name = pkg.archive.filename().string();
  const std::string& fn = pkg.file_name;
  if (!EndsWith(fn, ".conda") && !EndsWith(fn, ".tar.bz2"))
    return Status::InvalidArgument(archive.string() + ": not a conda package (.conda or .tar.bz2)");
  auto bytes = ReadAll(archive);
  if (!bytes.ok()) return bytes.status();
  pkg.size = bytes->size();
  pkg.md5 = Md5Hex(*bytes);
  pkg.sha256 = core::Sha256Hex(*bytes);
  std::vector<std::string> buffers;
  auto entries = Entries(fn, *bytes, &buffers);
  if (!entries.ok())
    return Status::InvalidArgument(archive.string() + ": " + entries.status().message() +
                                   "; nothing from this package was installed");
  std::map<std::string, std::string_view> info;
  std::map<std::string, const TarEntry*> content;
  for (const TarEntry& e : *entries) {
    if (e.path.rfind("info/", 0) == 0) {
      if (e.type == TarEntry::Type::kFile) info[e.path] = e.data;
      continue;
    }
    if (!SafeRelative(e.path)) return Unsafe(fn, e.path, "not a relative path inside the prefix");
    if (e.type != TarEntry::Type::kDirectory) content[e.path] = &e;
  }
  auto parse = [&](const std::string& name, Json* out) -> Status {
    auto it = info.find(name);
    if (it == info.end()) return Status::NotFound(name);
    *out = Json::parse(it->second, nullptr, false);
    if (out->is_discarded() || !out->is_object())
      return Status::InvalidArgument(fn + ": " + name + " is not a JSON object");
    return Status::OK();
  };
  Json index, paths_json, link_json;
  if (Status s = parse("info/index.json", &index); !s.ok())
    return s.IsNotFound()
               ? Status::InvalidArgument(fn + ": no info/index.json: not a conda package")
               : s;
  for (const char* key : {"name", "version", "build"})
    if (!index.contains(key) || !index[key].is_string() || index[key].get<std::string>().empty())
      return Status::InvalidArgument(fn + ": info/index.json has no \"" + key + "\"");
  pkg.name = index["name"].get<std::string>();
  pkg.version = index["version"].get<std::string>();
  pkg.build = index["build"].get<std::string>();
  for (const std::string& s : {pkg.name, pkg.version, pkg.build})
    if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
      return Status::InvalidArgument(fn + ": info/index.json: '" + s + "' is not a conda name");
  pkg.index_json = std::string(info["info/index.json"]);
  if (Status s = parse("info/paths.json", &paths_json); !s.ok() && !s.IsNotFound()) return s;
  if (Status s = parse("info/link.json", &link_json); !s.ok() && !s.IsNotFound()) return s;
  bool noarch_python = index.value("noarch", Json()) == "python" ||
                       (link_json.contains("noarch") && link_json["noarch"].is_object() &&
                        link_json["noarch"].value("type", "") == "python");
  std::map<std::string, Json> path_info;
  if (paths_json.contains("paths") && paths_json["paths"].is_array())
    for (const Json& p : paths_json["paths"])
      if (p.is_object() && p.contains("_path") && p["_path"].is_string())
        path_info[p["_path"].get<std::string>()] = p;

  std::string prefix_str = fs::absolute(prefix).lexically_normal().string();
  while (prefix_str.size() > 1 && prefix_str.back() == '/') prefix_str.pop_back();
  for (const auto& [source, e] : content) {
    PackageFile f;
    f.source_path = source;
    f.path = source;
    if (noarch_python) {  // as conda links noarch: python packages
      if (source.rfind("site-packages/", 0) == 0)
        f.path = std::string(kNoarchPythonSitePackages) + source.substr(13);
      else if (source.rfind("python-scripts/", 0) == 0)
        f.path = "bin" + source.substr(14);
    }
    f.mode = (e->mode & 0111) ? 0755 : 0644;
    if (e->type == TarEntry::Type::kSymlink) {
      f.type = PackageFile::Type::kSymlink;
      f.link = e->link;
      fs::path resolved = (fs::path(f.path).parent_path() / e->link).lexically_normal();
      if (e->link.empty() || e->link[0] == '/' || resolved.empty() || *resolved.begin() == "..")
        return Unsafe(fn, source, "a symlink to " + e->link + ", outside the prefix");
    } else {
      std::string_view data = e->data;
      if (e->type == TarEntry::Type::kHardlink) {
        auto target = content.find(e->link);
        if (target == content.end() || target->second->type != TarEntry::Type::kFile)
          return Unsafe(fn, source, "a hard link to " + e->link + ", not a file in the package");
        data = target->second->data;
      }
      f.data = std::string(data);
      f.sha256_in_package = core::Sha256Hex(data);
      f.size_in_package = data.size();
      auto pi = path_info.find(source);
      if (pi != path_info.end() && pi->second.contains("prefix_placeholder") &&
          pi->second["prefix_placeholder"].is_string()) {
        std::string placeholder = pi->second["prefix_placeholder"].get<std::string>();
        if (pi->second.value("file_mode", "text") == "binary") {
          auto replaced = ReplaceBinary(std::move(f.data), placeholder, prefix_str);
          if (!replaced.ok())
            return Status::InvalidArgument(fn + ": " + source + ": " + replaced.status().message());
          f.data = std::move(replaced).value();
        } else {
          f.data = ReplaceText(std::move(f.data), placeholder, prefix_str);
        }
      }
    }
    if (!SafeRelative(f.path) || f.path.rfind("conda-meta/", 0) == 0)
      return Unsafe(fn, f.path, "not a path a package may write");
    pkg.files.push_back(std::move(f));
  }
  return pkg;
}

StatusOr<InstallResult> InstallCondaPackage(const LoadedPackage& pkg, const fs::path& prefix) {
  std::error_code ec;
  fs::create_directories(prefix / "conda-meta", ec);
  if (ec)
    return Status::IOError("cannot create " + (prefix / "conda-meta").string() + ": " +
                           ec.message());
  fs::create_directories(prefix / kNoarchPythonSitePackages, ec);
  fs::path prefix_real = fs::canonical(prefix, ec);
  if (ec) return Status::IOError("cannot resolve " + prefix.string() + ": " + ec.message());
  for (const PackageFile& f : pkg.files) {
    auto parent = ParentInPrefix(prefix_real, f.path);
    if (!parent.ok()) return parent.status();
    fs::path target = *parent / fs::path(f.path).filename();
    if (f.type == PackageFile::Type::kSymlink) {
      fs::path tmp = target;
      tmp += ".robotni-tmp";
      fs::remove(tmp, ec);
      fs::create_symlink(f.link, tmp, ec);
      if (!ec) fs::rename(tmp, target, ec);
      if (ec) return Status::IOError("cannot link " + target.string() + ": " + ec.message());
      continue;
    }
    if (fs::is_directory(fs::symlink_status(target)))
      return Status::IOError("cannot write " + target.string() + ": a folder is there");
    ROBOTNI_RETURN_IF_ERROR(WriteFileAtomic(target, f.data, f.mode));
  }
  // Another version or build of the same name: its record goes, and its files this one
  // does not have.
  std::string stem = pkg.name + "-" + pkg.version + "-" + pkg.build;
  std::set<std::string> ours;
  for (const PackageFile& f : pkg.files) ours.insert(f.path);
  for (const auto& e : fs::directory_iterator(prefix_real / "conda-meta", ec)) {
    std::string name = e.path().filename().string();
    if (!EndsWith(name, ".json") || name == stem + ".json") continue;
    auto text = ReadAll(e.path());
    if (!text.ok()) continue;
    Json old = Json::parse(*text, nullptr, false);
    if (!old.is_object() || old.value("name", "") != pkg.name) continue;
    if (old.contains("files") && old["files"].is_array())
      for (const Json& p : old["files"])
        if (p.is_string() && SafeRelative(p.get<std::string>()) &&
            !ours.count(p.get<std::string>()))
          fs::remove(prefix_real / p.get<std::string>(), ec);
    fs::remove(e.path(), ec);
  }
  Json index = Json::parse(pkg.index_json, nullptr, false);
  fs::path record = prefix_real / "conda-meta" / (stem + ".json");
  ROBOTNI_RETURN_IF_ERROR(WriteFileAtomic(record, Record(pkg, index).dump(2) + "\n", 0644));
  // conda takes a folder for an environment when conda-meta/history exists.
  std::ofstream history(prefix_real / "conda-meta" / "history", std::ios::app);
  std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::gmtime(&now));
  history << "==> " << when << " <==\n# cmd: robotni env create\n+"
          << "file://" << pkg.archive.parent_path().string() << "::" << stem << "\n";
  return InstallResult{record, pkg.files.size()};
}

}  // namespace robotni::package
