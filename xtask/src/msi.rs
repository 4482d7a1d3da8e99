//! The `.msi`, built on Linux with msitools' `wixl` from a `WiX` source (and `msibuild` for
//! the one table wixl cannot write): `stead.exe` under
//! `Program Files\stead`, that folder on the system `PATH`, and the `stead` Event Log source
//! (the message file every source stead registers uses); all of it removed on uninstall.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::{Release, run_cmd};

/// Fixed for every release: Windows Installer finds earlier versions by it.
const UPGRADE_CODE: &str = "6B0C3F4E-2D7A-4E61-9F3B-5A8C1D2E7F40";
/// Component GUIDs stay the same across releases (the rules of component identity).
const BINARY_COMPONENT: &str = "2F9D6A31-7C4B-4B8E-A1D2-3E5F60718293";
const DOCS_COMPONENT: &str = "8A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D";
const SOURCE_COMPONENT: &str = "5D4C3B2A-1F0E-4D9C-8B7A-6F5E4D3C2B1A";

pub(crate) fn build(rel: &Release) -> Result<PathBuf> {
    let exe = rel.binary(crate::WINDOWS_TARGET);
    let msi = rel.out.join(format!("stead-{}-x86_64.msi", rel.version));
    // Windows Installer versions are three numbers below 256.256.65536.
    let version: String = rel
        .version
        .split(['-', '+'])
        .next()
        .unwrap_or("0.0.0")
        .to_string();
    let key = r"SYSTEM\CurrentControlSet\Services\EventLog\Application\stead";
    let message_file = r"%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll";
    let wxs = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="stead" Language="1033" Version="{version}" Manufacturer="The stead developers" UpgradeCode="{UPGRADE_CODE}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine" Description="stead {version}: keep programs running" Comments="Commit {commit}"/>
    <Media Id="1" Cabinet="stead.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="stead">
          <Component Id="Binary" Guid="{BINARY_COMPONENT}" Win64="yes">
            <File Id="SteadExe" Name="stead.exe" Source="{exe}" KeyPath="yes"/>
          </Component>
          <Component Id="Docs" Guid="{DOCS_COMPONENT}" Win64="yes">
            <File Id="Readme" Name="README.md" Source="{readme}" KeyPath="yes"/>
            <File Id="LicenseMit" Name="LICENSE-MIT.txt" Source="{mit}"/>
            <File Id="LicenseApache" Name="LICENSE-APACHE.txt" Source="{apache}"/>
          </Component>
          <Component Id="EventSource" Guid="{SOURCE_COMPONENT}" Win64="yes">
            <RegistryValue Root="HKLM" Key="{key}" Name="EventMessageFile" Type="expandable" Value="{message_file}" KeyPath="yes"/>
            <RegistryValue Root="HKLM" Key="{key}" Name="TypesSupported" Type="integer" Value="7"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Complete" Level="1">
      <ComponentRef Id="Binary"/>
      <ComponentRef Id="Docs"/>
      <ComponentRef Id="EventSource"/>
    </Feature>
  </Product>
</Wix>
"#,
        commit = rel.commit,
        // wixl takes sources relative to the directory it runs in (the workspace root).
        exe = exe.strip_prefix(&rel.root).unwrap_or(&exe).display(),
        readme = "README.md",
        mit = "LICENSE-MIT",
        apache = "LICENSE-APACHE",
    );
    let wxs_path = rel.out.join("stead.wxs");
    std::fs::write(&wxs_path, wxs)?;
    run_cmd(
        Command::new("wixl")
            .args(["--arch", "x64", "-o"])
            .arg(&msi)
            .arg(&wxs_path)
            .current_dir(&rel.root),
    )?;
    std::fs::remove_file(&wxs_path)?;
    // wixl has no <Environment>: the PATH entry goes in as the Environment table WiX would
    // write (`=-*PATH` = set on install, remove on uninstall, system-wide; `[~];` = append),
    // with the two standard actions that apply it.
    run_cmd(Command::new("msibuild").arg(&msi).args([
        "-q",
        "CREATE TABLE `Environment` (`Environment` CHAR(72) NOT NULL, `Name` CHAR(255) NOT NULL LOCALIZABLE, `Value` CHAR(255) LOCALIZABLE, `Component_` CHAR(72) NOT NULL PRIMARY KEY `Environment`)",
        "-q",
        "INSERT INTO `Environment` (`Environment`, `Name`, `Value`, `Component_`) VALUES ('SteadPath', '=-*PATH', '[~];[INSTALLDIR]', 'Binary')",
        "-q",
        "INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) VALUES ('RemoveEnvironmentStrings', 3300)",
        "-q",
        "INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) VALUES ('WriteEnvironmentStrings', 5200)",
    ]))?;
    Ok(msi)
}
